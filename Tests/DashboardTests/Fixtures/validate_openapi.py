#!/usr/bin/env python3
"""Validates recorded API responses against docs/openapi.yaml.

Usage: validate_openapi.py SPEC CASES.json
CASES is a list of {"method", "path" (the template, e.g. /api/v1/recordings/{id}), "status", "body"}.
Needs PyYAML and jsonschema (Debian: python3-yaml python3-jsonschema). OpenAPI 3.1 schemas are
JSON Schema 2020-12, so each response schema is checked with the spec's components beside it.
"""
import json
import sys

import jsonschema
import yaml

spec = yaml.safe_load(open(sys.argv[1]))
cases = json.load(open(sys.argv[2]))
failures = 0
for case in cases:
    where = f'{case["method"]} {case["path"]} -> {case["status"]}'
    operation = spec["paths"].get(case["path"], {}).get(case["method"].lower())
    if operation is None:
        print(f"FAIL {where}: not in the document"); failures += 1; continue
    response = operation["responses"].get(str(case["status"]))
    if response is None:
        print(f"FAIL {where}: status not documented"); failures += 1; continue
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].split("/")[-1]]
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        print(f"FAIL {where}: no JSON schema"); failures += 1; continue
    document = dict(schema)
    document["components"] = spec["components"]
    try:
        jsonschema.Draft202012Validator(document).validate(json.loads(case["body"]))
        print(f"ok   {where}")
    except Exception as error:  # noqa: BLE001 - report every kind of failure
        print(f"FAIL {where}: {str(error).splitlines()[0]}"); failures += 1
sys.exit(1 if failures else 0)

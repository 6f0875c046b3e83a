import Foundation
import JSONText
import Testing

/// The one escape rule every part's JSON goes through, and the encoder built on it.
@Suite struct JSONEscapeTests {
    @Test func quotesControlsAndHTMLSensitiveCharactersAreEscaped() throws {
        #expect(jsonQuoted("plain id 42/path") == #""plain id 42/path""#, "slashes stay")
        #expect(jsonQuoted("q\"b\\n\nr\rt\tnul\u{0}\u{1f}") == #""q\"b\\n\nr\rt\tnul\u0000\u001f""#)
        #expect(jsonQuoted("</script><!-- & -->") == #""\u003c/script\u003e\u003c!-- \u0026 --\u003e""#)
        #expect(jsonQuoted("a\u{2028}b\u{2029}c") == #""a\u2028b\u2029c""#)
        #expect(jsonQuoted("café € 東京 😀 \u{2027}\u{202A}") == "\"café € 東京 😀 \u{2027}\u{202A}\"", "other UTF-8, E2 sequences included, as is")
        #expect(jsonQuoted("") == "\"\"")
        // What the rule writes is JSON that decodes back to the text, in our decoder and Foundation's.
        let nasty = "x</script>\u{2028}\"\\\u{7}é&>"
        #expect(try JSONValue(parsing: Array(jsonQuoted(nasty).utf8)) == .string(nasty))
        #expect(try JSONSerialization.jsonObject(with: Data(jsonQuoted(nasty).utf8), options: .fragmentsAllowed) as? String == nasty)
    }

    @Test func stringAndByteFormsAgree() {
        for text in ["", "id", "a<b", "tab\there", "\u{2028}", "end\u{E2}"] {
            var bytes: [UInt8] = []
            JSONEscape.quote(text, into: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == jsonQuoted(text), "\(text)")
        }
    }

    @Test func writerWritesCompactJSON() throws {
        var w = JSONWriter()
        w.object { w in
            w.field("name", "cam<1>")
            w.field("count", 3)
            w.field("negative", Int64(-42))
            w.field("ratio", 0.125)
            w.field("rounded", 2.0004)
            w.field("missing", nil as String?)
            w.field("ok", true)
            w.key("list"); w.array { w in w.value(1); w.value("two"); w.object { _ in } }
            w.key("raw"); w.raw(#"{"a":1}"#)
        }
        #expect(w.text == #"{"name":"cam\u003c1\u003e","count":3,"negative":-42,"ratio":0.125,"rounded":2,"missing":null,"ok":true,"list":[1,"two",{}],"raw":{"a":1}}"#)
        #expect(try JSONValue(parsing: w.bytes)["name"] == .string("cam<1>"))
        #expect(JSONWriter.number(-0.0004) == "0" && JSONWriter.number(-0.5) == "-0.5" && JSONWriter.number(1234.5678) == "1234.568")
    }

    @Test func serializedValuesFollowTheSameRule() {
        #expect(JSONValue.object(["m": .string("a&b")]).serialized == #"{"m":"a\u0026b"}"#)
    }
}

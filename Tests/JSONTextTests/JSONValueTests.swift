import JSONText
import Testing

/// Camera payloads are untrusted: the parser must decode what RFC 8259 allows and refuse the
/// rest with an offset, never trap.
@Suite struct JSONValueTests {
    func parse(_ text: String) throws -> JSONValue { try JSONValue(parsing: Array(text.utf8)) }

    @Test func stringsWithAndWithoutEscapes() throws {
        #expect(try parse(#""plain id 42""#) == .string("plain id 42"))
        #expect(try parse(#""a\"b\\c\/d\n\t\r\b\f""#) == .string("a\"b\\c/d\n\t\r\u{08}\u{0C}"))
        #expect(try parse(#""caf\u00e9 \u20AC""#) == .string("café €"))
        #expect(try parse(#""\ud83d\ude00 smile""#) == .string("😀 smile"))           // surrogate pair
        #expect(try parse(#""lone \ud83d here""#) == .string("lone \u{FFFD} here"))  // unpaired
        #expect(try parse("\"grüße 東京\"") == .string("grüße 東京"))                 // raw UTF-8
        #expect(try JSONValue(parsing: [0x22, 0xff, 0xfe, 0x22]) == .string("\u{FFFD}\u{FFFD}"))
        let object = try parse(#"{"id": "0123abcd", "result": "done", "n": [1, 2.5, true, null]}"#)
        #expect(object["id"]?.stringValue == "0123abcd" && object["result"]?.stringValue == "done")
        #expect(object["n"] == .array([.number(1), .number(2.5), .bool(true), .null]))
    }

    @Test func malformedInputIsRefusedWithAnOffset() {
        for bad in [#""unterminated"#, "\"tab\there\"", #""bad \x escape""#, #""\u12""#, #""\u12zz""#,
                    #"{"a" 1}"#, "[1,]", "tru", "{} trailing", String(repeating: "[", count: 100), ""] {
            #expect(throws: JSONParseError.self, "\(bad.prefix(20))") { try parse(bad) }
        }
        let error = try? #require(throws: JSONParseError.self) { try parse(#"{"a": "b\q"}"#) }
        #expect(error?.offset == 9)
    }

    @Test func serializedTextIsValidJSONAndRoundTrips() throws {
        let value: JSONValue = .object(["id": .string("q\"uote\\back\nline\u{01}"), "mode": .string("nuit é"), "n": .number(96)])
        let text = value.serialized
        #expect(text == #"{"id":"q\"uote\\back\nline\u0001","mode":"nuit é","n":96}"#)
        #expect(try parse(text) == value)
    }
}

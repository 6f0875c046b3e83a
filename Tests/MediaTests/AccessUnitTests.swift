import Testing
import Wire

@Test func accessUnitsCompareByContent() {
    let idr = AccessUnit(codec: .h264, nalUnits: [[0x65, 0x88]], timestamp: 90_000, isKeyframe: true)
    var other = idr
    #expect(other == idr)
    other.timestamp += 3_000
    #expect(other != idr)
}

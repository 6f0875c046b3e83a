#if canImport(Glibc)
import Glibc
#endif

/// The RTCP lab for issue 14's end-to-end test: a receiver on the host standing in for Kurento's
/// RtpEndpoint, sending its RTCP where an offer's `c=`/`a=rtcp` say (as Kurento does), and a camera
/// in the namespace that, like real firmware, stops streaming when no RTCP reached it for its
/// RTCP time-out.
extension RTCPLab {
    /// The port the timed camera sends RTP from (its offer's `m=` port); RTCP uses `feedbackPort`.
    public var cameraRTPPort: UInt16 { feedbackPort &- 2 }

    /// The receiver: RTP and RTCP from the camera on `rtpPort`/`rtcpPort`, its own RTCP (receiver
    /// reports about the camera's SSRC) sent to `host:port`. Stops by itself after `seconds`.
    public func startReceiver(feedbackHost host: String, feedbackPort port: UInt16, seconds: Int) throws {
        let receiver = [
            "-s", "KILL", "\(seconds)", "gst-launch-1.0", "-q",
            "rtpsession", "name=s", "rtcp-min-interval=1000000000",
            "udpsrc", "address=\(hostAddress)", "port=\(rtpPort)",
            "caps=application/x-rtp,media=audio,clock-rate=8000,encoding-name=L16,channels=1,payload=96", "!", "s.recv_rtp_sink",
            "s.recv_rtp_src", "!", "rtpL16depay", "!", "fakesink",
            "udpsrc", "address=\(hostAddress)", "port=\(rtcpPort)", "!", "s.recv_rtcp_sink",
            "s.send_rtcp_src", "!", "udpsink", "host=\(host)", "port=\(port)", "sync=false", "async=false",
        ]
        try adopt(TestProcess("/usr/bin/timeout", receiver))
    }

    /// The camera: L16 RTP at 50 packets/s from `cameraRTPPort` and a sender report each second
    /// from `feedbackPort`, to the host; listens on `feedbackPort` for RTCP. Exits 3 printing
    /// `STOPPED <unix ns>` when no RTCP came for `rtcpTimeout` seconds (firmware behaviour), or 0
    /// printing `STREAMED <seconds> <rtcp datagrams>` after `duration` seconds.
    public func startTimedCamera(rtcpTimeout: Double, duration: Double) throws -> TestProcess {
        let script = """
            import socket, struct, sys, time, select
            host, rtp_port, rtcp_port, my_rtp, my_rtcp, ssrc, timeout, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
            rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rtp.bind(("0.0.0.0", my_rtp))
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rtcp.bind(("0.0.0.0", my_rtcp))
            start = time.monotonic(); last_rtcp = start; next_rtp = start; next_sr = start; seq = 0; ts = 0; heard = 0; sent = 0
            while True:
                now = time.monotonic()
                if now - last_rtcp > timeout:
                    print("STOPPED %d %d" % (time.time_ns(), heard), flush=True); sys.exit(3)
                if now - start >= duration:
                    print("STREAMED %.1f %d" % (now - start, heard), flush=True); sys.exit(0)
                if now >= next_rtp:
                    rtp.sendto(struct.pack("!BBHII", 0x80, 96, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + bytes(320), (host, rtp_port))
                    seq += 1; ts += 160; sent += 1; next_rtp += 0.02
                if now >= next_sr:
                    ntp = time.time() + 2208988800
                    sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, int(ntp), int((ntp % 1) * 2**32), ts & 0xFFFFFFFF, sent, sent * 320)
                    rtcp.sendto(sr, (host, rtp_port + 1)); next_sr += 1.0
                readable, _, _ = select.select([rtcp], [], [], 0.005)
                if readable:
                    data = rtcp.recv(2048)
                    if len(data) >= 8 and data[0] & 0xC0 == 0x80 and 200 <= data[1] <= 206:
                        last_rtcp = time.monotonic(); heard += 1
            """
        let process = try TestProcess("/sbin/ip", ["netns", "exec", namespace, "timeout", "-s", "KILL", "\(Int(duration) + 10)", "/usr/bin/python3", "-c", script,
                                                   hostAddress, "\(rtpPort)", "\(rtcpPort)", "\(cameraRTPPort)", "\(feedbackPort)", "\(cameraSSRC)",
                                                   "\(rtcpTimeout)", "\(duration)"])
        adopt(process)
        return process
    }
}

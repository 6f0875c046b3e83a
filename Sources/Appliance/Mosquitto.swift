import CMosquitto

// Until the Control part owns libmosquitto, this is the one place Appliance asks it anything.
func mosquittoVersion() -> String {
    var major: Int32 = 0, minor: Int32 = 0, revision: Int32 = 0
    mosquitto_lib_version(&major, &minor, &revision)
    return "\(major).\(minor).\(revision)"
}

public import FieldSyncProtocol
public import FieldSyncStore

/// The desk's other pages: devices (enroll and revoke for admins) and the audit log.
extension ConsolePage {
    /// The devices page: each device's state, last sync, changes waiting and refused; for admins,
    /// a form that enrolls one (its one-time token shown once, on the page that answers the form)
    /// and a revoke button per device.
    public static func devices(
        _ list: [DeviceInfo], viewer: Viewer, enrolled: EnrollmentResponse? = nil, notice: String? = nil
    ) -> String {
        let admin = viewer.role == "admin"
        return document(title: "Devices", viewer: viewer, section: .devices) { w in
            message(&w, error: nil, notice: notice)
            if let e = enrolled {
                w.element("section", ["aria-labelledby": "h-token", "class": "token"]) { w in
                    w.element("h2", ["id": "h-token"], text: "Enrollment token for \(e.deviceID) (shown once)")
                    w.element("p") { w in w.element("code", ["id": "enrollment-token"], text: e.enrollmentToken) }
                    if let qr = QRCode(e.enrollmentToken) {
                        w.element("figure", ["class": "qr"]) { w in
                            qr.svg(&w, label: "QR code of the enrollment token for \(e.deviceID)")
                            w.element("figcaption", text: "The phone's FieldSync app scans this code to enroll.")
                        }
                    }
                    w.element(
                        "p", ["class": "hint"],
                        text: "On the phone: fieldsync device enroll --token … It works once, until "
                            + "\(time(e.expiresAtMillis)).")
                }
            }
            if admin { enrollForm(&w, viewer) }
            deviceTable(&w, list, viewer, admin: admin)
        }
    }

    static func enrollForm(_ w: inout HTMLWriter, _ viewer: Viewer) {
        w.element("form", ["method": "post", "action": "/console/devices/enroll", "class": "filters"]) { w in
            csrfField(&w, viewer)
            for (id, name, label) in [("e-device", "device", "Device id"), ("e-county", "county", "County")] {
                w.element("div") { w in
                    w.element("label", ["for": id], text: label)
                    w.void("input", ["id": id, "name": name, "type": "text", "maxlength": "64", "required": ""])
                }
            }
            w.element("button", ["type": "submit"], text: "Enroll a device")
        }
    }

    static func deviceTable(_ w: inout HTMLWriter, _ list: [DeviceInfo], _ viewer: Viewer, admin: Bool) {
        guard !list.isEmpty else {
            w.element("p", ["role": "status"], text: "No devices.")
            return
        }
        w.element("table", ["class": "list"]) { w in
            w.element("thead") { w in
                w.element("tr") { w in
                    let heads = [
                        "Device", "County", "State", "Last sync", "Changes waiting", "Refused", "Photos waiting",
                        "Last error",
                    ]
                    for h in heads + (admin ? ["Action"] : []) { w.element("th", ["scope": "col"], text: h) }
                }
            }
            w.element("tbody") { w in
                for d in list {
                    w.element("tr") { w in
                        w.element("td", text: d.deviceID)
                        w.element("td", text: d.county)
                        w.element("td", text: d.status)
                        w.element("td", text: d.lastSyncMillis.map(time) ?? "never")
                        w.element("td", text: d.pending.map { "\($0)" } ?? "")
                        w.element("td", text: d.refused.map { "\($0)" } ?? "")
                        w.element("td", text: d.mediaWaiting.map { "\($0)" } ?? "")
                        w.element("td", text: d.lastError ?? "")
                        if admin {
                            w.element("td") { w in
                                guard d.status != "revoked" else { return }
                                w.element(
                                    "form",
                                    [
                                        "method": "post",
                                        "action": "/console/devices/\(ConsoleQuery.encode(d.deviceID))/revoke",
                                    ]
                                ) { w in
                                    csrfField(&w, viewer)
                                    w.element(
                                        "button", ["type": "submit", "aria-label": "Revoke \(d.deviceID)"],
                                        text: "Revoke")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The audit log page: who did what, when, from where (newest first).
    public static func audit(_ entries: [AuditEntry], action: String?, viewer: Viewer) -> String {
        document(title: "Audit log", viewer: viewer, section: .audit) { w in
            w.element("form", ["method": "get", "action": "/console/audit", "class": "filters"]) { w in
                w.element("div") { w in
                    w.element("label", ["for": "a-action"], text: "Action")
                    w.element("select", ["id": "a-action", "name": "action"]) { w in
                        w.element("option", ["value": ""], text: "all")
                        for a in AuditAction.allCases {
                            w.element(
                                "option", ["value": a.rawValue, "selected": action == a.rawValue ? "" : nil],
                                text: a.rawValue)
                        }
                    }
                }
                w.element("button", ["type": "submit"], text: "Filter")
            }
            guard !entries.isEmpty else {
                w.element("p", ["role": "status"], text: "Nothing recorded.")
                return
            }
            w.element("table", ["class": "list"]) { w in
                w.element("thead") { w in
                    w.element("tr") { w in
                        for h in ["When", "Who", "Role", "From", "Action", "County", "Subject", "Detail"] {
                            w.element("th", ["scope": "col"], text: h)
                        }
                    }
                }
                w.element("tbody") { w in
                    for e in entries {
                        w.element("tr") { w in
                            for cell in [
                                time(e.atMillis), e.actor, e.role, e.address, e.action.rawValue, e.county ?? "",
                                e.subject, e.detail,
                            ] {
                                w.element("td", text: cell)
                            }
                        }
                    }
                }
            }
        }
    }
}

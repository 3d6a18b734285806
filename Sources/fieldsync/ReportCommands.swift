import ArgumentParser
import FieldSyncClient
import FieldSyncCore
import FieldSyncStore
import Foundation

/// `fieldsync report …`: citizen reports on this device, offline.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Create and edit citizen reports on this device (works offline).",
        subcommands: [
            New.self, Edit.self, Tag.self, NoteCmd.self, Attach.self, Withdraw.self, Restore.self, List.self,
            Show.self, GenerateCommand.self,
        ])

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "File a new report; prints its id.")
        @OptionGroup var options: StoreOptions
        @Option(
            help:
                "Service code from the county's catalogue (fieldsync services list), e.g. pothole; its required attributes must be given with --attribute."
        ) var service: String?
        @Option(help: "Service code (category) as before catalogues; the same as --service.") var category: String?
        @Option(
            parsing: .singleValue,
            help: "An attribute of the service, code=value (repeatable; repeat a code for a multivaluelist).")
        var attribute: [String] = []
        @Option(help: "What the citizen reported.") var description: String
        @Option(help: "Latitude.") var lat: Double?
        @Option(help: "Longitude.") var long: Double?
        @Option(help: "Address or landmark.") var address: String?
        @Option(help: "Ward.") var ward: String?
        @Option(help: "Priority 1 (urgent) – 4 (low).") var priority: Int?
        @Option(help: "Reporter's name (personal data).") var reporterName: String?
        @Option(help: "Reporter's phone (personal data).") var reporterPhone: String?
        @Option(parsing: .singleValue, help: "A county-specific attribute, key=value (repeatable).") var attr:
            [String] = []
        @Option(help: "Report id (default: a new UUID).") var id: String?

        func run() async throws {
            let store = try options.open()
            let credentials = try await DeviceCredentials.load(store)
            let report = try ReportID(validating: id ?? UUID().uuidString.lowercased())
            guard let code = service ?? category else {
                throw ValidationError("give --service (fieldsync services list)")
            }
            var ops: [ReportOperation] = [
                .create(county: credentials.county), .set(field: .serviceCode, value: .string(code)),
            ]
            ops += try await serviceFields(code, store)
            ops += [.set(field: .description, value: .string(description)), .set(field: .status, value: "open")]
            if let lat { ops.append(.set(field: .lat, value: .double(lat))) }
            if let long { ops.append(.set(field: .long, value: .double(long))) }
            if let address { ops.append(.set(field: .address, value: .string(address))) }
            if let ward { ops.append(.set(field: .ward, value: .string(ward))) }
            if let priority { ops.append(.set(field: .priority, value: .int(Int64(priority)))) }
            if let reporterName { ops.append(.set(field: .reporterName, value: .string(reporterName))) }
            if let reporterPhone { ops.append(.set(field: .reporterPhone, value: .string(reporterPhone))) }
            for a in attr {
                let (field, value) = try parseAssignment("attributes." + a)
                ops.append(.set(field: field, value: value))
            }
            _ = try await writeSigned(store, ops, to: report)
            print(report.rawValue)
        }

        /// The service's name and attributes, checked against the catalogue the device holds (as
        /// given, when it holds none: the server flags what does not match later).
        func serviceFields(_ code: String, _ store: any DeviceStore) async throws -> [ReportOperation] {
            var given: [String: [String]] = [:]
            for a in attribute {
                guard let eq = a.firstIndex(of: "="), eq != a.startIndex else {
                    throw ValidationError("--attribute takes code=value, not '\(a)'")
                }
                given[String(a[..<eq]), default: []].append(String(a[a.index(after: eq)...]))
            }
            guard let catalogue = try await DeviceCatalogue.held(store) else {
                return try given.sorted { $0.key < $1.key }.map { code, values in
                    .set(
                        field: try FieldName(validating: "attributes.\(code)"),
                        value: values.count == 1 ? .string(values[0]) : .array(values.map { .string($0) }))
                }
            }
            guard let service = catalogue.service(code) else {
                throw ValidationError(
                    "service '\(code)' is not in the county's catalogue (v\(catalogue.version ?? 0)); one of: \(catalogue.services.map(\.serviceCode).joined(separator: ", "))"
                )
            }
            let fields = try CatalogueRules.fields(for: service, given: given)
            return [.set(field: .serviceName, value: .string(service.serviceName))]
                + fields.sorted { $0.key < $1.key }.map { .set(field: $0.key, value: $0.value) }
        }
    }

    struct Attach: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Attach a photo or other file to a report (offline): the bytes wait in the device's media area and go to the server after the changes at the next sync."
        )
        @OptionGroup var options: StoreOptions
        @Argument(help: "Report id.") var id: String
        @Option(help: "The file.") var file: String
        @Option(help: "Its content type (default: from the extension, e.g. image/jpeg).") var type: String?
        @Flag(help: "Remove the bytes from this device once the server has them.") var untilUploaded = false

        func run() async throws {
            let url = URL(fileURLWithPath: file)
            guard let type = type ?? DeviceMedia.contentType(of: url) else {
                throw ValidationError("give --type (the extension of \(url.lastPathComponent) names no known type)")
            }
            let store = try options.open()
            let media = try options.media()
            let ref = try media.add(url, contentType: type)
            _ = try await writeSigned(store, [.attachMedia(ref)], to: try ReportID(validating: id))
            try await DeviceMedia.enqueue(
                DeviceMedia.Entry(sha256: ref.sha256, size: ref.size, contentType: type, untilUploaded: untilUploaded),
                in: store)
            print("attached \(ref.sha256) (\(ref.size) bytes, \(type)); it goes to the server at the next sync")
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set fields: --set status=closed --set priority=1.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "Report id.") var id: String
        @Option(
            name: .customLong("set"), parsing: .singleValue,
            help: "field=value (value as JSON if valid, else text); repeatable.") var assignments: [String]

        func run() async throws {
            let ops = try Self.operations(assignments)
            let change = try await writeSigned(try options.open(), ops, to: try ReportID(validating: id))
            Self.describe(change)
        }

        static func operations(_ assignments: [String]) throws -> [ReportOperation] {
            guard !assignments.isEmpty else { throw ValidationError("give at least one --set field=value") }
            var ops: [ReportOperation] = []
            for assignment in assignments {
                let (field, value) = try parseAssignment(assignment)
                ops.append(.set(field: field, value: value))
            }
            return ops
        }

        static func describe(_ change: Change) {
            let resolved = change.resolves.keys.map(\.rawValue).sorted()
            if !resolved.isEmpty { print("resolves the conflict on \(resolved.joined(separator: ", "))") }
            print(change.dot.description)
        }
    }

    struct Tag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add or remove tags.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "Report id.") var id: String
        @Option(parsing: .singleValue, help: "Tag to add (repeatable).") var add: [String] = []
        @Option(parsing: .singleValue, help: "Tag to remove (repeatable).") var remove: [String] = []

        func run() async throws {
            let ops = add.map(ReportOperation.addTag) + remove.map(ReportOperation.removeTag)
            guard !ops.isEmpty else { throw ValidationError("give --add or --remove") }
            print("\(try await writeSigned(try options.open(), ops, to: try ReportID(validating: id)).dot)")
        }
    }

    struct NoteCmd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "note", abstract: "Append a note.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "Report id.") var id: String
        @Argument(help: "The note.") var text: String

        func run() async throws {
            print(
                "\(try await writeSigned(try options.open(), [.appendNote(text: text)], to: try ReportID(validating: id)).dot)"
            )
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Withdraw a report (e.g. a duplicate).")
        @OptionGroup var options: StoreOptions
        @Argument(help: "Report id.") var id: String
        @Option(help: "Why.") var reason: String = ""

        func run() async throws {
            print(
                "\(try await writeSigned(try options.open(), [.withdraw(reason: reason)], to: try ReportID(validating: id)).dot)"
            )
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restore a withdrawn report.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "Report id.") var id: String

        func run() async throws {
            print("\(try await writeSigned(try options.open(), [.restore], to: try ReportID(validating: id)).dot)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List reports on this device.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Only this status.") var status: String?
        @Option(help: "Page size.") var limit = 100
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let reports = try await options.open().reports(ReportFilter(status: status, limit: limit))
            if json { return try printJSON(reports) }
            printReports(reports)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one report.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "Report id.") var id: String
        @Flag(help: "Print JSON.") var json = false
        @Flag(help: "Show personal data (reporter contact).") var personal = false

        func run() async throws {
            guard let r = try await options.open().report(try ReportID(validating: id)) else {
                throw ValidationError("no report \(id) on this device")
            }
            if json { return try printJSON(r) }
            printReport(r, personal: personal)
        }
    }
}

func printReports(_ reports: [Report]) {
    printTable(
        ["id", "category", "status", "lifecycle", "updated", "conflicts", "description"],
        reports.map { r in
            [
                r.id.rawValue, r[.serviceCode]?.description ?? "", r[.status]?.description ?? "", r.lifecycle,
                humanTime(r.updatedAt),
                r.conflicted.joined(separator: ","), r[.description]?.description ?? "",
            ]
        })
}

func printReport(_ r: Report, personal: Bool) {
    print("\(r.id) — \(r.county), \(r.lifecycle), \(r.changeCount) changes, updated \(humanTime(r.updatedAt))")
    for (k, v) in r.fields.sorted(by: { $0.key < $1.key }) {
        let hidden = (FieldName(rawValue: k)?.isPersonal ?? false) && !personal
        print(
            "  \(k.padding(toLength: 20, withPad: " ", startingAt: 0)) \(hidden ? "(personal — use --personal)" : v.description)\(r.conflicted.contains(k) ? "   ⚠ conflict" : "")"
        )
    }
    if !r.tags.isEmpty { print("  tags: \(r.tags.joined(separator: ", "))") }
    for n in r.notes { print("  note \(humanTime(n.hlc)) by \(n.dot.device): \(n.text)") }
    for m in r.media { print("  media \(m.media.contentType) \(m.media.size) B sha256:\(m.media.sha256.prefix(12))…") }
    if r.conflicted.contains("lifecycle") { print("  ⚠ withdrawn on one device while edited on another") }
}

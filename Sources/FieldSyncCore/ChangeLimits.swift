/// The size limits a change must respect. Every replica checks them before applying a change,
/// so a change that one replica accepts, all accept.
public struct ChangeLimits: Sendable, Hashable {
    /// Most operations in one change.
    public var maxOperations = 64
    /// Largest encoded size of one field value, in bytes.
    public var maxValueBytes = 16 * 1024
    /// Deepest nesting of one field value.
    public var maxValueDepth = 8
    /// Longest note, in bytes.
    public var maxNoteBytes = 16 * 1024
    /// Longest tag, county or reason, in bytes.
    public var maxLabelBytes = 256
    /// Most devices in a causal context.
    public var maxContextEntries = 4096

    /// The standard limits.
    public static let standard = ChangeLimits()

    /// The largest sequence number, timestamp or size a store holds (a signed 64-bit integer).
    public static let maxStoredInteger = UInt64(Int64.max)

    /// Creates the standard limits.
    public init() {}

    /// Checks the change on its own (without looking at any stored state).
    public func validate(_ change: Change) throws(FieldSyncError) {
        try validateHeader(change)
        try validateOperations(change)
        try validateResolves(change)
    }

    /// Its dot, clock, causal context, county and number of operations.
    private func validateHeader(_ change: Change) throws(FieldSyncError) {
        // Only formatted when a message needs it: validation runs on every change merged.
        var place: String { "change \(change.dot)" }
        guard change.dot.seq >= 1 else {
            throw FieldSyncError(
                .invalidSequence, "\(place): sequence numbers start at 1; renumber the device's log from 1")
        }
        // Stored as signed 64-bit integers: anything larger is refused here, never trapped later.
        guard change.dot.seq <= Self.maxStoredInteger, change.hlc.millis <= Self.maxStoredInteger,
            change.context.entries.allSatisfy({ $0.seq <= Self.maxStoredInteger })
        else {
            throw FieldSyncError(
                .invalidSequence,
                "\(place): a sequence number or timestamp is above 9223372036854775807, the largest a store holds")
        }
        guard change.context[change.dot.device] < change.dot.seq else {
            throw FieldSyncError(
                .invalidContext,
                "\(place): its causal context already includes seq \(change.context[change.dot.device]) of its own device; a change's context must be older than the change"
            )
        }
        guard change.context.count <= maxContextEntries else {
            throw FieldSyncError(
                .invalidContext,
                "\(place): causal context has \(change.context.count) devices, more than the \(maxContextEntries) allowed"
            )
        }
        try checkLabel(change.county, what: "county", in: place)
        guard Identifier.isValid(change.county) else {
            throw FieldSyncError(
                .invalidIdentifier,
                "\(place): county '\(change.county.prefix(80))' is not a valid identifier (1–64 of A–Z a–z 0–9 - _ .)")
        }
        guard !change.ops.isEmpty else {
            throw FieldSyncError(.emptyChange, "\(place): has no operations; send at least one")
        }
        guard change.ops.count <= maxOperations else {
            throw FieldSyncError(
                .invalidOperation,
                "\(place): has \(change.ops.count) operations, more than \(maxOperations); split it into several changes"
            )
        }
    }

    /// Each operation, and what the operations say together (one lifecycle operation at most;
    /// an empty context only for a create).
    private func validateOperations(_ change: Change) throws(FieldSyncError) {
        var place: String { "change \(change.dot)" }
        var fields: [FieldName] = []  // a change sets few fields: a scan beats hashing
        var lifecycleOps = 0
        for (i, op) in change.ops.enumerated() {
            switch op {
            case .create(let county):
                guard i == 0 else {
                    throw FieldSyncError(.invalidOperation, "\(place): 'create' must be the first operation")
                }
                guard county == change.county else {
                    throw FieldSyncError(
                        .countyMismatch,
                        "\(place): creates the report in '\(county.prefix(64))' but is labelled county '\(change.county.prefix(64))'"
                    )
                }
                guard change.context.isEmpty else {
                    throw FieldSyncError(
                        .invalidContext, "\(place): a 'create' change must have an empty causal context")
                }
                lifecycleOps += 1
            case .set(let field, let value):
                try validateSet(field, value, in: change, after: fields)
                fields.append(field)
            case .addTag(let tag), .removeTag(let tag):
                try checkLabel(tag, what: "tag", in: place)
            case .appendNote(let text):
                guard !text.isEmpty, text.utf8.count <= maxNoteBytes else {
                    throw FieldSyncError(
                        .fieldTooLarge, "\(place): a note must have 1 to \(maxNoteBytes) bytes of text")
                }
                guard !text.utf8.contains(0) else {
                    throw FieldSyncError(
                        .invalidOperation,
                        "\(place): a note holds a NUL character (U+0000); text may hold any other character, stored exactly"
                    )
                }
            case .attachMedia(let m):
                guard MediaRef.isValidSHA256(m.sha256) else {
                    throw FieldSyncError(
                        .invalidOperation, "\(place): media sha256 must be 64 lower-case hex characters")
                }
                try checkLabel(m.contentType, what: "media content type", in: place)
                guard m.size <= Self.maxStoredInteger else {
                    throw FieldSyncError(
                        .invalidOperation, "\(place): media size \(m.size) is above 9223372036854775807 bytes")
                }
            case .withdraw(let reason):
                if !reason.isEmpty { try checkLabel(reason, what: "withdrawal reason", in: place) }
                lifecycleOps += 1
            case .restore:
                lifecycleOps += 1
            }
        }
        guard lifecycleOps <= 1 else {
            throw FieldSyncError(
                .invalidOperation, "\(place): has more than one of create, withdraw and restore; use one per change")
        }
        if !change.isCreate && change.context.isEmpty {
            throw FieldSyncError(
                .invalidContext,
                "\(place): only a 'create' change may have an empty causal context; include the report's version vector"
            )
        }
    }

    /// One `set`: a settable field, once per change, a value within the bounds.
    private func validateSet(
        _ field: FieldName, _ value: FieldValue, in change: Change, after fields: [FieldName]
    ) throws(FieldSyncError) {
        var place: String { "change \(change.dot)" }
        guard field != .lifecycle else {
            throw FieldSyncError(.unknownField, "\(place): 'lifecycle' cannot be set; use withdraw or restore")
        }
        guard !fields.contains(field) else {
            throw FieldSyncError(
                .invalidOperation, "\(place): sets '\(field)' twice; set each field at most once per change")
        }
        guard value.approximateSize <= maxValueBytes else {
            throw FieldSyncError(
                .fieldTooLarge,
                "\(place): the value of '\(field)' is larger than \(maxValueBytes) bytes; attach large content as media"
            )
        }
        guard value.isNormalized else {
            throw FieldSyncError(
                .invalidOperation,
                "\(place): the value of '\(field)' holds a number with an integral value as a double; write it as an integer (JSON has one number type: 34.0 is 34)"
            )
        }
        guard value.depth <= maxValueDepth else {
            throw FieldSyncError(
                .fieldTooLarge,
                "\(place): the value of '\(field)' is nested deeper than \(maxValueDepth) levels")
        }
        guard !Self.holdsNUL(value) else {
            throw FieldSyncError(
                .invalidOperation,
                "\(place): the value of '\(field)' holds a NUL character (U+0000); text may hold any other character, stored exactly"
            )
        }
    }

    /// The conflicts it resolves: fields it writes, candidates sorted and within its context.
    private func validateResolves(_ change: Change) throws(FieldSyncError) {
        var place: String { "change \(change.dot)" }
        for (field, dots) in change.resolves {
            guard change.value(of: field) != nil else {
                throw FieldSyncError(.invalidOperation, "\(place): resolves '\(field)' but does not write it")
            }
            guard dots.count >= 2, dots.count <= maxContextEntries, zip(dots, dots.dropFirst()).allSatisfy({ $0 < $1 })
            else {
                throw FieldSyncError(
                    .invalidOperation,
                    "\(place): the candidates of '\(field)' it resolves must be at least two distinct dots, sorted")
            }
            guard dots.allSatisfy({ change.context.contains($0) }) else {
                throw FieldSyncError(
                    .invalidContext,
                    "\(place): resolves candidates of '\(field)' that its causal context does not include")
            }
        }
    }

    /// Whether a value holds U+0000 anywhere (in a string or an object key): refused on every
    /// store alike, since C strings (SQLite's text binding, PostgreSQL's text) end there.
    static func holdsNUL(_ value: FieldValue) -> Bool {
        switch value {
        case .string(let s): return s.utf8.contains(0)
        case .array(let a): return a.contains(where: holdsNUL)
        case .object(let o): return o.contains { $0.key.utf8.contains(0) || holdsNUL($0.value) }
        case .null, .bool, .int, .double: return false
        }
    }

    /// Whether `s` holds a C0 or C1 control character (U+0000–001F, U+007F–009F), read from its
    /// UTF-8 bytes (C1 controls are encoded C2 80 … C2 9F).
    static func hasControlCharacter(_ s: String) -> Bool {
        var previous: UInt8 = 0
        for b in s.utf8 {
            if b < 0x20 || b == 0x7F || (previous == 0xC2 && (0x80...0x9F).contains(b)) { return true }
            previous = b
        }
        return false
    }

    private func checkLabel(_ s: String, what: String, in where_: @autoclosure () -> String) throws(FieldSyncError) {
        guard !s.isEmpty, s.utf8.count <= maxLabelBytes, !Self.hasControlCharacter(s) else {
            throw FieldSyncError(
                .invalidOperation,
                "\(where_()): \(what) must have 1 to \(maxLabelBytes) bytes and no control characters")
        }
    }
}

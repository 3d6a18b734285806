/// A note or comment on a report. Notes are append-only and sorted by timestamp, then dot.
public struct Note: Hashable, Sendable, Codable {
    /// The change that appended the note.
    public var dot: Dot
    /// When it was written.
    public var hlc: HybridTimestamp
    /// The text.
    public var text: String

    /// Creates a note.
    public init(dot: Dot, hlc: HybridTimestamp, text: String) {
        self.dot = dot
        self.hlc = hlc
        self.text = text
    }

    /// The order every replica lists notes in.
    public static func listOrder(_ a: Note, _ b: Note) -> Bool {
        a.hlc == b.hlc ? a.dot < b.dot : a.hlc < b.hlc
    }
}

/// A media reference attached to a report, with the change that first attached it.
public struct MediaAttachment: Hashable, Sendable, Codable {
    /// The change that attached it (the smallest dot, if attached more than once).
    public var dot: Dot
    /// The reference.
    public var media: MediaRef

    /// Creates an attachment.
    public init(dot: Dot, media: MediaRef) {
        self.dot = dot
        self.media = media
    }
}

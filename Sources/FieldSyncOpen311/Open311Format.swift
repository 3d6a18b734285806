/// The two formats GeoReport v2 serves, chosen by the path's extension (`services.xml`).
public enum Open311Format: String, Sendable, CaseIterable {
    /// XML, which the specification requires.
    case xml
    /// JSON, as bare arrays.
    case json

    /// The content type of an answer.
    public var contentType: String {
        switch self {
        case .xml: "text/xml; charset=utf-8"
        case .json: "application/json; charset=utf-8"
        }
    }

    /// Splits `name.fmt` into the name and its format; nil when the extension is neither.
    public static func split(_ file: String) -> (name: String, format: Open311Format)? {
        guard let dot = file.lastIndex(of: "."),
            let format = Open311Format(rawValue: String(file[file.index(after: dot)...]).lowercased())
        else { return nil }
        return (String(file[..<dot]), format)
    }
}

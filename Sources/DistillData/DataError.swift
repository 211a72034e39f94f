/// A failure to read, decode or use a dataset file or a data setting.
///
/// Every case names the file path (or the setting) and the field, offset or shape involved, so the
/// message alone says what to fix. `description` is the human-readable message.
public enum DataError: Error, CustomStringConvertible, Equatable {
    /// The path does not exist (or is not a regular readable file).
    case missingFile(path: String)
    /// The OS refused to read or write the path.
    case io(path: String, reason: String)
    /// The leading magic bytes are not those of the expected format.
    case badMagic(path: String, expected: String, found: String)
    /// The file is shorter (or longer) than its own header says; `detail` names the field and sizes.
    case truncated(path: String, detail: String)
    /// A header field holds a value the format does not allow.
    case malformed(path: String, field: String, detail: String)
    /// An element type this reader does not support.
    case unsupportedDType(path: String, dtype: String)
    /// zlib reported an error while inflating or deflating.
    case compression(path: String, detail: String)
    /// An image decoder (libpng, TurboJPEG) refused the file; `message` is the decoder's own words.
    case undecodable(path: String, decoder: String, message: String)
    /// A dataset operation got arguments that do not fit the data (shape, class ids, sizes).
    case invalidArgument(String)
    /// An augmentation spec names something unknown or has a bad parameter.
    case badAugmentationSpec(spec: String, detail: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): no such file"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .badMagic(let path, let expected, let found):
            return "\(path): wrong magic number: expected \(expected), found \(found)"
        case .truncated(let path, let detail):
            return "\(path): \(detail)"
        case .malformed(let path, let field, let detail):
            return "\(path): bad \(field): \(detail)"
        case .unsupportedDType(let path, let dtype):
            return "\(path): unsupported dtype \(dtype)"
        case .compression(let path, let detail):
            return "\(path): \(detail)"
        case .undecodable(let path, let decoder, let message):
            return "\(path): \(decoder) cannot decode it: \(message)"
        case .invalidArgument(let detail):
            return detail
        case .badAugmentationSpec(let spec, let detail):
            return "augmentation spec '\(spec)': \(detail)"
        }
    }
}

/// Hex rendering of bytes for magic-number messages, e.g. `0x00000803`.
func hexBytes<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    let digits = Array("0123456789abcdef")
    var s = "0x"
    for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
    return bytes.isEmpty ? "(no bytes)" : s
}

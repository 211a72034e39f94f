import Foundation

/// The JSON coders of result files (metrics.json, checkpoint histories, landscapes): non-finite
/// numbers are written as the strings "inf", "-inf" and "nan" and read back from them, so a
/// diverged run still writes valid JSON.
enum ResultJSON {
    static func encoder(_ formatting: JSONEncoder.OutputFormatting = []) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = formatting
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}

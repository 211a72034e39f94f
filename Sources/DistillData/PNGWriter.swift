import Foundation

/// Writes 8-bit images as PNG files (libpng's simplified API, through `ImageCodec.encodePNG`).
///
/// The bytes are those `ImageCodec.decodePNG` reads back sample for sample (8-bit gray or RGB, no
/// gamma chunk, so no conversion on the way back). A file that cannot be written is
/// `DataError.io` naming the path; an image whose sample count does not match its size is
/// `DataError.invalidArgument`, checked before anything is written.
public enum PNGWriter {
    /// The PNG bytes of `image` (1 channel: gray, 3: RGB).
    public static func encode(_ image: DecodedImage) throws -> [UInt8] {
        try ImageCodec.encodePNG(pixels: image.pixels, width: image.width, height: image.height, channels: image.channels)
    }

    /// Writes `image` to `path` as a PNG (replacing a file already there, atomically).
    public static func write(_ image: DecodedImage, to path: String) throws {
        let bytes = try encode(image)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw DataError.io(path: path, reason: "cannot write the PNG: \(error.localizedDescription)")
        }
    }
}

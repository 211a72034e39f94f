import DistillCore
import CPNG
import CTurboJPEG

/// One decoded 8-bit image: `channels` interleaved samples per pixel (1 gray, 3 RGB), rows top to
/// bottom, so `pixels[(y * width + x) * channels + c]` (HWC order, as the files store it).
public struct DecodedImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// 1 (gray) or 3 (RGB); an alpha channel is dropped by the decoders.
    public let channels: Int
    public let pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        ensure(pixels.count == width * height * channels,
               "DecodedImage: \(pixels.count) samples for \(width)×\(height)×\(channels)")
        self.width = width; self.height = height; self.channels = channels; self.pixels = pixels
    }

    /// Writes the pixels / 255 as `channels` planes [C, H, W] at `out`; a gray image fills every
    /// plane (gray replicated into R, G and B), an RGB image needs `channels` 3.
    public func writeCHW(to out: UnsafeMutablePointer<Float>, channels c: Int) {
        ensure(self.channels == 1 || self.channels == c, "DecodedImage.writeCHW: \(self.channels) channels into \(c)")
        let plane = width * height, ch = self.channels
        pixels.withUnsafeBufferPointer { p in
            for k in 0..<c {
                let dst = out + k * plane, src = ch == 1 ? 0 : k
                for i in 0..<plane { dst[i] = DecodedImage.unit[Int(p[i * ch + src])] }
            }
        }
    }

    /// v / 255 for every byte value v.
    static let unit: [Float] = (0..<256).map { Float($0) / 255 }

    /// The same image with gray replicated into R, G and B (an RGB image is returned as it is).
    public var rgb: DecodedImage {
        guard channels == 1 else { return self }
        var out = [UInt8](repeating: 0, count: pixels.count * 3)
        for (i, v) in pixels.enumerated() { out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v }
        return DecodedImage(width: width, height: height, channels: 3, pixels: out)
    }
}

/// PNG and JPEG through the libraries everyone uses: libpng's simplified API (Debian `libpng-dev`)
/// and libjpeg-turbo's TurboJPEG API (`libturbojpeg0-dev`). Both report errors by return value
/// (no `longjmp` across Swift frames); a refusal is `DataError.undecodable` naming the file and the
/// decoder's message. Header dimensions are checked against `Limits.maxImagePixels` before any
/// pixel buffer is allocated.
///
/// Conversions (chosen to give the pixels torchvision's PIL loader gives, `Image.convert("RGB")`):
/// - gray PNGs and JPEGs decode to 1 channel, everything else (RGB, palette) to 3;
/// - an alpha channel (RGBA, gray+alpha, a palette's tRNS) is dropped, not composited;
/// - libpng converts to 8-bit sRGB: 16-bit samples are scaled to 8 bits (taken as sRGB-encoded
///   when the file has no gAMA/sRGB chunk), and a file's gAMA chunk is honoured;
/// - JPEGs decode with libjpeg's default accurate DCT and smooth upsampling (PIL's defaults); a
///   libjpeg warning (a truncated or corrupt scan) is an error, as in PIL; CMYK JPEGs are refused;
///   progressive files with an unreasonable number of scans are refused (`TJFLAG_LIMITSCANS`).
///
/// Bounds besides ours: libpng's own (Debian's build) refuses a width or height over 1,000,000 and
/// an ancillary chunk over 8 MB; the file itself is bounded by `Limits.maxFileBytes` when read.
public enum ImageCodec {
    static let pngMagic: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Decodes a PNG or a JPEG, chosen by the file's leading bytes (not its name).
    public static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws -> DecodedImage {
        if bytes.count >= 8 && bytes.prefix(8).elementsEqual(pngMagic) { return try decodePNG(bytes, path: path) }
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return try decodeJPEG(bytes, path: path) }
        throw DataError.badMagic(path: path, expected: "a PNG (\(hexBytes(pngMagic))) or JPEG (0xffd8ff) image", found: hexBytes(bytes.prefix(8)))
    }

    /// Throws unless a `width × height × channels` image is within `Limits.maxImagePixels`.
    static func checkSize(width: Int, height: Int, channels: Int, path: String) throws {
        let (wh, o1) = width.multipliedReportingOverflow(by: height)
        let (whc, o2) = wh.multipliedReportingOverflow(by: channels)
        guard width >= 1, height >= 1 else {
            throw DataError.malformed(path: path, field: "image size", detail: "\(width)×\(height) is empty")
        }
        guard !o1, !o2, whc <= Limits.maxImagePixels else {
            throw DataError.malformed(path: path, field: "image size", detail: "\(width)×\(height)×\(channels) is more than the \(Limits.maxImagePixels) pixels an image may have")
        }
    }

    /// Keeps the first `keep` of every `stride` samples (drops an alpha channel).
    static func dropAlpha(_ p: [UInt8], stride: Int, keep: Int) -> [UInt8] {
        let n = p.count / stride
        var out = [UInt8](repeating: 0, count: n * keep)
        for i in 0..<n { for c in 0..<keep { out[i * keep + c] = p[i * stride + c] } }
        return out
    }

    // MARK: PNG

    /// The `png_image` message (a NUL-terminated char[64]).
    static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Decodes a PNG with `png_image_begin_read_from_memory` / `png_image_finish_read`.
    public static func decodePNG(_ bytes: UnsafeRawBufferPointer, path: String) throws -> DecodedImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard let base = bytes.baseAddress, png_image_begin_read_from_memory(&image, base, bytes.count) != 0 else {
            let m = bytes.isEmpty ? "the file is empty" : message(&image)
            png_image_free(&image)
            throw DataError.undecodable(path: path, decoder: "libpng", message: m)
        }
        let colour = image.format & 2 != 0, alpha = image.format & 1 != 0   // PNG_FORMAT_FLAG_COLOR, _ALPHA
        let keep = colour ? 3 : 1, stride = keep + (alpha ? 1 : 0)
        do {
            try checkSize(width: Int(image.width), height: Int(image.height), channels: keep, path: path)
        } catch {
            png_image_free(&image)
            throw error
        }
        image.format = UInt32((colour ? 2 : 0) | (alpha ? 1 : 0))
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        let w = Int(image.width), h = Int(image.height)
        var pixels = [UInt8](repeating: 0, count: w * h * stride)
        let ok = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard ok != 0 else {
            let m = message(&image)
            png_image_free(&image)
            throw DataError.undecodable(path: path, decoder: "libpng", message: m)
        }
        return DecodedImage(width: w, height: h, channels: keep, pixels: alpha ? dropAlpha(pixels, stride: stride, keep: keep) : pixels)
    }

    /// Encodes 8-bit samples as a PNG with `png_image_write_to_memory`: `channels` 1 (gray),
    /// 2 (gray + alpha), 3 (RGB) or 4 (RGBA), interleaved, rows top to bottom.
    public static func encodePNG(pixels: [UInt8], width: Int, height: Int, channels: Int) throws -> [UInt8] {
        guard (1...4).contains(channels), width >= 1, height >= 1, pixels.count == width * height * channels else {
            throw DataError.invalidArgument("encodePNG: \(pixels.count) samples do not make a \(width)×\(height) image of \(channels) channels (1–4)")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width); image.height = UInt32(height)
        image.format = UInt32([0, 0, 1, 2, 3][channels])   // GRAY, GA, RGB, RGBA
        var size = 0
        guard pixels.withUnsafeBytes({ png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, 0, nil) }) != 0 else {
            throw DataError.undecodable(path: "(PNG being written)", decoder: "libpng", message: message(&image))
        }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { o in pixels.withUnsafeBytes { png_image_write_to_memory(&image, o.baseAddress, &size, 0, $0.baseAddress, 0, nil) } }
        guard ok != 0 else { throw DataError.undecodable(path: "(PNG being written)", decoder: "libpng", message: message(&image)) }
        return Array(out.prefix(size))
    }

    // MARK: JPEG

    static func tjMessage(_ handle: tjhandle?) -> String {
        tjGetErrorStr2(handle).map { String(cString: $0) } ?? "unknown TurboJPEG error"
    }

    /// Decodes a JPEG with `tjDecompressHeader3` / `tjDecompress2`.
    public static func decodeJPEG(_ bytes: UnsafeRawBufferPointer, path: String) throws -> DecodedImage {
        guard let handle = tjInitDecompress() else {
            throw DataError.undecodable(path: path, decoder: "TurboJPEG", message: tjMessage(nil))
        }
        defer { tjDestroy(handle) }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count <= Int(UInt32.max) else {
            throw DataError.undecodable(path: path, decoder: "TurboJPEG", message: "the file is empty (or over 4 GB)")
        }
        var w: Int32 = 0, h: Int32 = 0, subsampling: Int32 = 0, colourspace: Int32 = 0
        guard tjDecompressHeader3(handle, base, UInt(bytes.count), &w, &h, &subsampling, &colourspace) == 0 else {
            throw DataError.undecodable(path: path, decoder: "TurboJPEG", message: tjMessage(handle))
        }
        let gray = colourspace == Int32(TJCS_GRAY.rawValue), channels = gray ? 1 : 3
        try checkSize(width: Int(w), height: Int(h), channels: channels, path: path)
        var pixels = [UInt8](repeating: 0, count: Int(w) * Int(h) * channels)
        let format = Int32(gray ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue)
        let rc = pixels.withUnsafeMutableBufferPointer {
            tjDecompress2(handle, base, UInt(bytes.count), $0.baseAddress, w, 0, h, format, TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)
        }
        guard rc == 0 else { throw DataError.undecodable(path: path, decoder: "TurboJPEG", message: tjMessage(handle)) }
        return DecodedImage(width: Int(w), height: Int(h), channels: channels, pixels: pixels)
    }

    /// Encodes a gray (`channels` 1) or RGB (3) image as a baseline JPEG with `tjCompress2`
    /// (4:4:4 chroma, so quality 100 loses little).
    public static func encodeJPEG(pixels: [UInt8], width: Int, height: Int, channels: Int, quality: Int = 95) throws -> [UInt8] {
        guard channels == 1 || channels == 3, width >= 1, height >= 1, pixels.count == width * height * channels, (1...100).contains(quality) else {
            throw DataError.invalidArgument("encodeJPEG: \(pixels.count) samples do not make a \(width)×\(height) image of 1 or 3 channels (quality \(quality) in 1…100)")
        }
        guard let handle = tjInitCompress() else { throw DataError.undecodable(path: "(JPEG being written)", decoder: "TurboJPEG", message: tjMessage(nil)) }
        defer { tjDestroy(handle) }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let format = Int32(channels == 1 ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue)
        let sampling = Int32(channels == 1 ? TJSAMP_GRAY.rawValue : TJSAMP_444.rawValue)
        let rc = pixels.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(width), 0, Int32(height), format, &out, &size, sampling, Int32(quality), 0)
        }
        defer { tjFree(out) }
        guard rc == 0, let o = out else { throw DataError.undecodable(path: "(JPEG being written)", decoder: "TurboJPEG", message: tjMessage(handle)) }
        return Array(UnsafeBufferPointer(start: o, count: Int(size)))
    }
}

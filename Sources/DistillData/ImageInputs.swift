import DistillCore

/// Images given one by one to a trained model (`distill predict`): PNG or JPEG files, folders of
/// them, or `.npy` arrays of images, each turned into [C, H, W] Float32 pixels / 255 with the
/// channel count the model takes.
public enum ImageInputs {
    /// One input image and where it came from (`file.png`, or `file.npy[3]` for a row of an array).
    public struct Item {
        public let name: String
        public let image: Tensor   // [C, H, W]
    }

    /// The images of `paths` in order: files as they are, folders' PNG/JPEG files in the order of
    /// image folders (sorted, sub-folders included), and every image of an `.npy` array ([H, W], [C, H, W], [N, H, W],
    /// [N, C, H, W] or [N, H, W, C] by the rule of the array loaders). Colour becomes gray by PIL's
    /// `convert("L")` (L = (19595 R + 38470 G + 7471 B + 2^15) / 2^16) when the model takes one
    /// channel; gray is replicated when it takes three. At most `limit` images.
    public static func load(_ paths: [String], channels: Int, limit: Int = 100_000) throws -> [Item] {
        guard channels == 1 || channels == 3 else {
            throw DataError.invalidArgument("the model takes images of \(channels) channels; only 1 (gray) or 3 (RGB) can be read from image files")
        }
        var out: [Item] = []
        for path in paths {
            if FileIO.isDirectory(path) {
                let files = try ImageFolder.imageFiles(under: path)
                guard !files.isEmpty else { throw DataError.invalidArgument("\(path): the folder holds no .png, .jpg or .jpeg file") }
                for f in files { out.append(try image(f, channels: channels)) }
            } else if path.lowercased().hasSuffix(".npy") {
                out += try array(path, channels: channels)
            } else {
                out.append(try image(path, channels: channels))
            }
            guard out.count <= limit else { throw DataError.invalidArgument("more than \(limit) images given; predict them in several calls") }
        }
        return out
    }

    static func image(_ path: String, channels: Int) throws -> Item {
        let bytes = try FileIO.read(path)
        var d = try ImageCodec.decode(bytes.bytes, path: path)
        if channels == 1 && d.channels == 3 { d = d.luminance }
        let image = d
        return Item(name: path, image: Tensor.make([channels, d.height, d.width]) { image.writeCHW(to: $0, channels: channels) })
    }

    static func array(_ path: String, channels: Int) throws -> [Item] {
        let a = try NumPy.read(path)
        var raw: Tensor
        switch a.values {
        case .float(let t): raw = t
        case .int(let t): raw = Tensor(shape: t.shape, scalars: t.scalars.map { Float($0) })
        }
        // a single image [H, W], or [C, H, W] with the model's channel count, becomes a batch of one
        if raw.rank == 2 {
            raw = Tensor(storage: raw.storage, shape: [1, 1] + raw.shape)
        } else if raw.rank == 3 && raw.shape[0] == channels {
            raw = Tensor(storage: raw.storage, shape: [1] + raw.shape)
        }
        let images = try ImageArrays.images(raw, integers: !a.dtype.isFloat, layout: nil, path: path)
        guard images.shape[1] == channels else {
            throw DataError.malformed(path: path, field: "shape", detail: "images of \(images.shape[1]) channels for a model of \(channels)")
        }
        let per = Shape.count(Array(images.shape.dropFirst()))
        return (0..<images.shape[0]).map { i in
            Item(name: "\(path)[\(i)]", image: Tensor(shape: Array(images.shape.dropFirst()), scalars: Array(images.scalars[(i * per)..<((i + 1) * per)])))
        }
    }
}

extension DecodedImage {
    /// The gray image PIL's `convert("L")` gives (ITU-R 601-2 luma, rounded as PIL rounds it).
    public var luminance: DecodedImage {
        guard channels == 3 else { return self }
        var out = [UInt8](repeating: 0, count: width * height)
        for i in out.indices {
            let (r, g, b) = (UInt32(pixels[3 * i]), UInt32(pixels[3 * i + 1]), UInt32(pixels[3 * i + 2]))
            out[i] = UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
        return DecodedImage(width: width, height: height, channels: 1, pixels: out)
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import DistillCore

/// A folder of images in torchvision's `ImageFolder` layout: `DIR/train/CLASS/…` and
/// `DIR/test/CLASS/…`, one sub-folder per class.
///
/// - Classes are the sub-folders of `train/`, sorted as Python sorts strings (by code point, what
///   `sorted(os.scandir(...))` gives torchvision); the label is the index in that order. `test/`
///   may lack a class, but a test class that `train/` does not have is an error, so both splits
///   always share one label mapping (two torchvision `ImageFolder`s would renumber silently).
/// - Files ending in `.png`, `.jpg` or `.jpeg` (any case) are images, searched in nested folders
///   too, in torchvision's order (folders by path, then file names, each sorted by code point).
///   Files with another extension are ignored, as torchvision ignores them, except the other image
///   types torchvision would load (`.bmp .ppm .pgm .tif .tiff .webp`), which are refused with a
///   message rather than skipped. Hidden files and folders (names starting with `.`: `.DS_Store`,
///   `._x.png`, `.ipynb_checkpoints`) are skipped, where torchvision would take a hidden folder
///   as a class. A class folder with no image is an error (as in torchvision).
/// - Every image of both splits must have one size (no silent resize: the error names the file and
///   both sizes). Gray images stay 1 channel when every image of both splits is gray; when any is
///   colour all become RGB (gray replicated). Alpha is dropped (see `ImageCodec`).
/// - Pixels become Float32 `pixel / 255` in [N, C, H, W], like the built-in sets.
public enum ImageFolder {
    /// Extensions decoded (compared lower-cased).
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]
    /// torchvision's other `IMG_EXTENSIONS`: refused rather than silently left out.
    public static let refusedExtensions: Set<String> = ["bmp", "ppm", "pgm", "tif", "tiff", "webp"]

    /// Loads `directory/train` and `directory/test` (see the type's documentation).
    public static func load(_ directory: String) throws -> (train: Dataset, test: Dataset) {
        guard FileIO.isDirectory(directory) else { throw noFolder(directory) }
        let trainDir = FileIO.join(directory, "train"), testDir = FileIO.join(directory, "test")
        for d in [trainDir, testDir] where !FileIO.isDirectory(d) { throw noFolder(d) }
        let classNames = try classes(in: trainDir)
        guard !classNames.isEmpty else {
            throw DataError.invalidArgument("\(trainDir): no class folders (an image folder holds one sub-folder of images per class)")
        }
        let testClasses = try classes(in: testDir)
        guard !testClasses.isEmpty else {
            throw DataError.invalidArgument("\(testDir): no class folders (an image folder holds one sub-folder of images per class)")
        }
        if let stray = testClasses.first(where: { !classNames.contains($0) }) {
            throw DataError.invalidArgument("\(FileIO.join(testDir, stray)): class '\(stray)' is not a class of \(trainDir) (\(classNames.joined(separator: ", ")))")
        }
        let trainFiles = try files(trainDir, classes: classNames), testFiles = try files(testDir, classes: testClasses)
        let labelOf = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })
        let train = try decode(trainFiles.map { ($0.path, $0.label) }, reference: nil)
        let test = try decode(testFiles.map { ($0.path, labelOf[testClasses[$0.label]] ?? 0) }, reference: train.first)
        let channels = (train.images + test.images).contains { $0.channels == 3 } ? 3 : 1
        let name = FileIO.baseName(directory)
        return (try assemble(train, channels: channels, classNames: classNames, name: "\(name)-train", path: trainDir),
                try assemble(test, channels: channels, classNames: classNames, name: "\(name)-test", path: testDir))
    }

    static func noFolder(_ path: String) -> DataError {
        .invalidArgument("\(path): no such folder (an image folder holds train/ and test/, each with one sub-folder of PNG or JPEG images per class)")
    }

    /// The class folders of `root`: its non-hidden sub-folders, sorted by code point.
    public static func classes(in root: String) throws -> [String] {
        try FileIO.list(root).filter { !$0.hasPrefix(".") && FileIO.isDirectory(FileIO.join(root, $0)) }.sorted(by: FileIO.codePointOrder)
    }

    /// The image files of each class folder with the class's index in `classes`, in torchvision's order.
    static func files(_ root: String, classes: [String]) throws -> [(path: String, label: Int)] {
        var out: [(path: String, label: Int)] = []
        for (label, c) in classes.enumerated() {
            let found = try imageFiles(under: FileIO.join(root, c))
            guard !found.isEmpty else {
                throw DataError.invalidArgument("\(FileIO.join(root, c)): no PNG or JPEG images in this class folder (.png, .jpg, .jpeg)")
            }
            guard out.count + found.count <= Limits.maxExamples else {
                throw DataError.invalidArgument("\(root): more than \(Limits.maxExamples) images")
            }
            out += found.map { ($0, label) }
        }
        return out
    }

    /// Image files below `dir`: like `sorted(os.walk(dir, followlinks=True))`, each folder's files
    /// sorted, folders in path order, at most `Limits.maxFolderDepth` levels down.
    static func imageFiles(under dir: String) throws -> [String] {
        var folders: [(path: String, files: [String])] = []
        var pending: [(String, Int)] = [(dir, 0)]
        while let (d, depth) = pending.popLast() {
            var files: [String] = []
            for entry in try FileIO.list(d) where !entry.hasPrefix(".") {
                let p = FileIO.join(d, entry)
                if FileIO.isDirectory(p) {
                    guard depth < Limits.maxFolderDepth else {
                        throw DataError.invalidArgument("\(p): more than \(Limits.maxFolderDepth) folder levels below the class folder \(dir) (a symbolic-link loop?)")
                    }
                    pending.append((p, depth + 1))
                    continue
                }
                guard let dot = entry.lastIndex(of: ".") else { continue }
                let ext = entry[entry.index(after: dot)...].lowercased()
                if refusedExtensions.contains(ext) {
                    throw DataError.unsupportedDType(path: p, dtype: "image type .\(ext) (PNG and JPEG are decoded; convert it, or move it out of the folder)")
                }
                if imageExtensions.contains(ext) && FileIO.exists(p) { files.append(entry) }
            }
            folders.append((d, files.sorted(by: FileIO.codePointOrder).map { FileIO.join(d, $0) }))
        }
        return folders.sorted { FileIO.codePointOrder($0.path, $1.path) }.flatMap(\.files)
    }

    /// Decoded images of one split with their labels and paths.
    struct Decoded {
        var images: [DecodedImage] = []
        var labels: [Int] = []
        var paths: [String] = []
        var first: (path: String, width: Int, height: Int)? {
            images.first.map { (paths[0], $0.width, $0.height) }
        }
    }

    /// Decodes every file, requiring one size (that of `reference`, else of the first file).
    static func decode(_ files: [(path: String, label: Int)], reference: (path: String, width: Int, height: Int)?) throws -> Decoded {
        var d = Decoded()
        var ref = reference
        if let r = reference { try ImageArrays.checkBytes(count: files.count, imageShape: [1, r.height, r.width], path: r.path) }
        for (path, label) in files {
            let bytes = try FileIO.read(path)
            let image = try ImageCodec.decode(bytes.bytes, path: path)
            if let r = ref {
                guard image.width == r.width && image.height == r.height else {
                    throw DataError.invalidArgument("\(path): the image is \(image.width)×\(image.height) but \(r.path) is \(r.width)×\(r.height); the images of a data set must share one size (resize them beforehand)")
                }
            } else {
                ref = (path, image.width, image.height)
                try ImageArrays.checkBytes(count: files.count, imageShape: [1, image.height, image.width], path: path)
            }
            d.images.append(image); d.labels.append(label); d.paths.append(path)
        }
        return d
    }

    /// [N, C, H, W] Float32 pixel / 255, gray replicated when `channels` is 3.
    static func assemble(_ d: Decoded, channels c: Int, classNames: [String], name: String, path: String) throws -> Dataset {
        let h = d.images.first?.height ?? 0, w = d.images.first?.width ?? 0, plane = h * w
        try ImageArrays.checkBytes(count: d.images.count, imageShape: [c, h, w], path: path)
        let images = Tensor.make([d.images.count, c, h, w]) { o in
            for (n, image) in d.images.enumerated() { image.writeCHW(to: o + n * c * plane, channels: c) }
        }
        return Dataset(name: name, images: images, labels: IntTensor(d.labels), classCount: classNames.count, classNames: classNames)
    }
}

extension FileIO {
    /// The entries of a folder except `.` and `..`, in the order the OS gives them.
    static func list(_ directory: String) throws -> [String] {
        guard let d = opendir(directory) else {
            throw DataError.io(path: directory, reason: "cannot list the folder: \(String(cString: strerror(errno)))")
        }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: &e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Python's string order (by code point, which is UTF-8 byte order), not Swift's `<`.
    static func codePointOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// The last component of a path, ignoring trailing slashes ("data" for "/x/data/").
    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}

extension Dataset {
    /// A torchvision-style image folder, `directory/train/CLASS/*.png|jpg` and
    /// `directory/test/CLASS/…` (see `ImageFolder` for the conventions).
    public static func imageFolder(directory: String) throws -> (train: Dataset, test: Dataset) {
        try ImageFolder.load(directory)
    }
}

import DistillCore

/// `.npz` archives: a zip file whose members are `name.npy`.
///
/// Reading supports stored (method 0) and deflated (method 8) members, zip64 sizes and offsets
/// (numpy's `savez` writes zip64 extras), and checks each member's CRC-32. Writing stores members
/// uncompressed (what `np.savez` does), with fixed timestamps so equal inputs give equal files.
extension NumPy {
    /// Reads every member of an `.npz`; keys are member names without the `.npy` suffix.
    public static func readArchive(_ path: String) throws -> [String: NumPyArray] {
        try archive(from: try FileIO.read(path), path: path)
    }

    /// `readArchive` on the bytes of a file.
    static func archive(from b: ByteBuffer, path: String, integersAsFloats: Bool = false) throws -> [String: NumPyArray] {
        var result: [String: NumPyArray] = [:]
        for entry in try ZipDirectory.entries(b, path: path) {
            let memberPath = "\(path)[\(entry.name)]"
            var r = ByteReader(b, path: memberPath, offset: entry.localOffset)
            guard try r.u32le("local header signature") == 0x0403_4b50 else {
                throw DataError.badMagic(path: memberPath, expected: "local file header 0x04034b50 at offset \(entry.localOffset)", found: "something else")
            }
            r.offset += 22
            let nameLength = try r.u16le("local name length"), extraLength = try r.u16le("local extra length")
            try r.require(nameLength + extraLength, "local name and extra field")
            r.offset += nameLength + extraLength
            try r.require(entry.compressedSize, "member data (\(entry.compressedSize) bytes)")
            let data = UnsafeRawBufferPointer(start: b.pointer + r.offset, count: entry.compressedSize)
            let member: ByteBuffer, start: Int
            switch entry.method {
            case 0:
                guard entry.compressedSize == entry.size else {
                    throw DataError.malformed(path: memberPath, field: "sizes", detail: "stored member has compressed size \(entry.compressedSize) but size \(entry.size)")
                }
                member = b; start = r.offset
            case 8:
                guard entry.size <= entry.compressedSize * 1032 + 1024 else {
                    throw DataError.malformed(path: memberPath, field: "size", detail: "\(entry.size) bytes cannot come from \(entry.compressedSize) deflated bytes")
                }
                member = try Zlib.inflateRaw(data, size: entry.size, path: memberPath, member: entry.name); start = 0
            default:
                throw DataError.unsupportedDType(path: memberPath, dtype: "zip compression method \(entry.method) (supported: 0 stored, 8 deflate)")
            }
            let content = UnsafeRawBufferPointer(start: member.pointer + start, count: entry.size)
            let crc = Zlib.crc32(content)
            guard crc == entry.crc else {
                throw DataError.malformed(path: memberPath, field: "CRC-32", detail: "data gives \(crc) but the directory records \(entry.crc)")
            }
            let key = entry.name.hasSuffix(".npy") ? String(entry.name.dropLast(4)) : entry.name
            result[key] = try decode(member, start: start, end: start + entry.size, path: memberPath, integersAsFloats: integersAsFloats)
        }
        return result
    }

    /// Writes arrays as a stored (uncompressed) `.npz`; members are `name.npy` in the given order.
    public static func writeArchive(_ arrays: [(name: String, array: NumPyArray)], to path: String) throws {
        var out: [UInt8] = [], directory: [UInt8] = []
        func u16(_ v: Int, _ a: inout [UInt8]) { a += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func u32(_ v: Int, _ a: inout [UInt8]) { for k in 0..<4 { a.append(UInt8((v >> (8 * k)) & 0xFF)) } }
        for (name, array) in arrays {
            let data = encode(array), fileName = Array((name + ".npy").utf8)
            guard data.count < 0xFFFF_FFFF, out.count < 0xFFFF_FFFF else {
                throw DataError.invalidArgument("\(path): member \(name) is too large for a zip without zip64 (\(data.count) bytes)")
            }
            let crc = Int(Zlib.crc32(data)), offset = out.count
            // version 2.0, flags 0, method 0 (stored), time 00:00, date 1980-01-01
            let common: (inout [UInt8]) -> Void = { a in
                u16(20, &a); u16(0, &a); u16(0, &a); u16(0, &a); u16(0x21, &a)
                u32(crc, &a); u32(data.count, &a); u32(data.count, &a); u16(fileName.count, &a); u16(0, &a)
            }
            u32(0x0403_4b50, &out); common(&out); out += fileName; out += data
            u32(0x0201_4b50, &directory); u16(20, &directory); common(&directory)
            u16(0, &directory); u16(0, &directory); u16(0, &directory); u32(0o100644 << 16, &directory)
            u32(offset, &directory); directory += fileName
        }
        let cdOffset = out.count
        out += directory
        u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out)
        u16(arrays.count, &out); u16(arrays.count, &out)
        u32(directory.count, &out); u32(cdOffset, &out); u16(0, &out)
        try FileIO.write(out, to: path)
    }
}

/// The central directory of a zip file.
enum ZipDirectory {
    struct Entry {
        var name: String
        var method: Int
        var crc: UInt32
        var compressedSize: Int
        var size: Int
        var localOffset: Int
    }

    static func entries(_ b: ByteBuffer, path: String) throws -> [Entry] {
        // End of central directory: 22 bytes plus a comment of up to 65535 bytes, at the end.
        guard b.count >= 22 else { throw DataError.truncated(path: path, detail: "\(b.count) bytes is too short for a zip archive (22-byte end record)") }
        var eocd = -1
        var p = b.count - 22
        while p >= max(0, b.count - 22 - 65535) {
            if b[p] == 0x50 && b[p + 1] == 0x4b && b[p + 2] == 0x05 && b[p + 3] == 0x06 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else {
            throw DataError.badMagic(path: path, expected: "zip end-of-central-directory record 0x06054b50", found: "none in the last \(min(b.count, 22 + 65535)) bytes")
        }
        var r = ByteReader(b, path: path, offset: eocd + 10)
        var count = try r.u16le("entry count")
        var cdSize = try r.u32le("central directory size")
        var cdOffset = try r.u32le("central directory offset")
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            var l = ByteReader(b, path: path, offset: eocd - 20)
            guard eocd >= 20, try l.u32le("zip64 locator signature") == 0x0706_4b50 else {
                throw DataError.malformed(path: path, field: "zip64 end locator", detail: "missing before the end record at offset \(eocd)")
            }
            l.offset += 4
            let z = try l.u64le("zip64 end record offset")
            guard z < UInt64(b.count) else { throw DataError.truncated(path: path, detail: "zip64 end record offset \(z) is beyond the file (\(b.count) bytes)") }
            var e = ByteReader(b, path: path, offset: Int(z))
            guard try e.u32le("zip64 end record signature") == 0x0606_4b50 else {
                throw DataError.badMagic(path: path, expected: "zip64 end record 0x06064b50 at offset \(z)", found: "something else")
            }
            e.offset += 8 + 2 + 2 + 4 + 4 + 8
            let c = try e.u64le("zip64 entry count"), s = try e.u64le("zip64 directory size"), o = try e.u64le("zip64 directory offset")
            guard c < UInt64(b.count), s <= UInt64(b.count), o <= UInt64(b.count) else {
                throw DataError.truncated(path: path, detail: "zip64 directory (\(c) entries, \(s) bytes at \(o)) does not fit the \(b.count)-byte file")
            }
            count = Int(c); cdSize = Int(s); cdOffset = Int(o)
        }
        guard cdOffset <= b.count, cdSize <= b.count - cdOffset else {
            throw DataError.truncated(path: path, detail: "central directory of \(cdSize) bytes at offset \(cdOffset) runs past the end of the \(b.count)-byte file")
        }
        var d = ByteReader(b, path: path, offset: cdOffset, end: cdOffset + cdSize)
        var entries: [Entry] = []
        for k in 0..<count {
            guard try d.u32le("central entry \(k) signature") == 0x0201_4b50 else {
                throw DataError.badMagic(path: path, expected: "central directory entry 0x02014b50 (entry \(k))", found: "something else at offset \(d.offset - 4)")
            }
            d.offset += 4
            let flags = try d.u16le("entry \(k) flags"), method = try d.u16le("entry \(k) method")
            d.offset += 4
            let crc = UInt32(try d.u32le("entry \(k) CRC-32"))
            var csize = try d.u32le("entry \(k) compressed size"), size = try d.u32le("entry \(k) size")
            let nameLength = try d.u16le("entry \(k) name length"), extraLength = try d.u16le("entry \(k) extra length")
            let commentLength = try d.u16le("entry \(k) comment length")
            d.offset += 8
            var local = try d.u32le("entry \(k) local header offset")
            let name = String(decoding: try d.take(nameLength, "entry \(k) name"), as: UTF8.self)
            var x = ByteReader(b, path: path, offset: d.offset, end: d.offset + min(extraLength, d.remaining))
            d.offset += extraLength
            try d.require(commentLength, "entry \(k) comment")
            d.offset += commentLength
            while x.remaining >= 4 {
                let id = try x.u16le("extra field id"), length = try x.u16le("extra field length")
                var f = ByteReader(b, path: path, offset: x.offset, end: x.offset + min(length, x.remaining))
                x.offset += length
                guard id == 0x0001 else { continue }
                if size == 0xFFFF_FFFF { size = Int(clamping: try f.u64le("zip64 size of \(name)")) }
                if csize == 0xFFFF_FFFF { csize = Int(clamping: try f.u64le("zip64 compressed size of \(name)")) }
                if local == 0xFFFF_FFFF { local = Int(clamping: try f.u64le("zip64 local offset of \(name)")) }
            }
            guard flags & 1 == 0 else { throw DataError.unsupportedDType(path: "\(path)[\(name)]", dtype: "encrypted zip member") }
            guard local <= b.count, size <= Int(Int32.max) * 64 else {
                throw DataError.truncated(path: "\(path)[\(name)]", detail: "local header offset \(local) / size \(size) do not fit the \(b.count)-byte file")
            }
            entries.append(Entry(name: name, method: method, crc: crc, compressedSize: csize, size: size, localOffset: local))
        }
        return entries
    }
}

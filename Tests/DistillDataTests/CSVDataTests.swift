import Foundation
import XCTest
import DistillCore
@testable import DistillData

/// Data sets from CSV files in Kaggle's Fashion-MNIST layout (`label,pixel1,…`).
final class CSVDataTests: TempDirTestCase {
    func read(_ text: String, shape: [Int]? = nil, layout: PixelLayout = .nchw) throws -> (images: Tensor, labels: [Int]) {
        let p = try writeBytes(Array(text.utf8), "f.csv")
        return try Array(text.utf8).withUnsafeBytes { try CSVImages.read(bytes: $0, path: p, shape: shape, layout: layout) }
    }

    func testKaggleLayoutWithHeaderCRLFBlankLinesAndSpaces() throws {
        let r = try read("label,pixel1,pixel2,pixel3,pixel4\r\n3,0,51,102,255\r\n\r\n 0 , 1,2 ,3,4\n")
        XCTAssertEqual(r.images.shape, [2, 1, 2, 2])
        XCTAssertEqual(r.images.scalars, [0, 51, 102, 255, 1, 2, 3, 4].map { Float($0) / 255 })
        XCTAssertEqual(r.labels, [3, 0])
        let noHeader = try read("1,9,9,9,9\n2,8,8,8,8")
        XCTAssertEqual(noHeader.labels, [1, 2], "a first line starting with an integer is a row")
        XCTAssertEqual(noHeader.images.shape, [2, 1, 2, 2])
    }

    func testGivenShapeInEitherColumnOrder() throws {
        // one RGB image 1 high, 2 wide; columns 10 20 30 40 50 60
        let row = "label,a,b,c,d,e,f\n0,10,20,30,40,50,60\n"
        let chw = try read(row, shape: [3, 1, 2])
        XCTAssertEqual(chw.images.shape, [1, 3, 1, 2])
        XCTAssertEqual(chw.images.scalars.map { $0 * 255 }, [10, 20, 30, 40, 50, 60])
        let hwc = try read(row, shape: [3, 1, 2], layout: .nhwc)
        XCTAssertEqual(hwc.images.scalars.map { ($0 * 255).rounded() }, [10, 40, 20, 50, 30, 60])
        XCTAssertEqual(try read(row, shape: [2, 3]).images.shape, [1, 1, 2, 3])
    }

    func testTwoFilesMakeOneClassCountAndTheFolderForm() throws {
        _ = try writeBytes(Array("label,p1\n0,255\n1,0\n".utf8), "train.csv")
        _ = try writeBytes(Array("label,p1\n6,128\n".utf8), "test.csv")
        let (train, test) = try Dataset.csv(directory: dir)
        XCTAssertEqual(train.classCount, 7)
        XCTAssertEqual(test.classCount, 7)
        XCTAssertEqual(train.imageShape, [1, 1, 1])
        XCTAssertEqual(test.images.scalars, [128 / 255])
        XCTAssertTrue(train.name.hasSuffix("-train"))
        let named = try Dataset.csv(train: path("train.csv"), test: path("test.csv"))
        XCTAssertEqual(named.train.labels.scalars, [0, 1])
        XCTAssertEqual(named.train.name, "train-train")
    }

    func testBadCSVIsAnErrorNamingFileLineAndColumn() throws {
        let p = path("f.csv")
        assertDataError([p, "line 3", "4 columns but the header (line 1) has 5"]) { _ = try read("label,a,b,c,d\n0,1,2,3,4\n1,2,3,4\n") }
        assertDataError([p, "line 2, column 3 (b)", "'x' is not an integer in 0…255"]) { _ = try read("label,a,b,c,d\n0,1,x,3,4\n") }
        assertDataError([p, "line 2, column 2 (a)", "'256'"]) { _ = try read("label,a,b,c,d\n0,256,2,3,4\n") }
        assertDataError([p, "line 2, column 2", "'1.5'"]) { _ = try read("label,a,b,c,d\n0,1.5,2,3,4\n") }
        assertDataError([p, "line 3, column 1 (label)", "'-1' is not an integer in 0…\(Limits.maxDimension - 1)"]) { _ = try read("label,a,b,c,d\n0,1,2,3,4\n-1,1,2,3,4\n") }
        assertDataError([p, "line 2, column 1", "'9999999'"]) { _ = try read("label,a,b,c,d\n9999999,1,2,3,4\n") }
        assertDataError([p, "line 2, column 5 (d)", "''"]) { _ = try read("label,a,b,c,d\n0,1,2,3,\n") }
        assertDataError([p, "6 pixel columns are not a square gray image", "shape="]) { _ = try read("label,a,b,c,d,e,f\n0,1,2,3,4,5,6\n") }
        assertDataError([p, "shape=3x4x4"]) { _ = try read("l," + (1...48).map { "p\($0)" }.joined(separator: ",") + "\n") }
        assertDataError([p, "4 pixel columns do not make images of 3x2x2"]) { _ = try read("label,a,b,c,d\n0,1,2,3,4\n", shape: [3, 2, 2]) }
        assertDataError([p, "is empty"]) { _ = try read("\n\n") }
        assertDataError([p, "1 column"]) { _ = try read("label\n0\n") }
        assertDataError([path("nothing/train.csv"), "no such file"]) { _ = try Dataset.csv(directory: path("nothing")) }
    }
}

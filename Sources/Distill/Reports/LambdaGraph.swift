import Foundation
import DistillCore

/// The teacher/student layer graph of an all-pairs distillation, as a standalone SVG.
///
/// Teacher layers are drawn top to bottom in the left column, student layers in the right one;
/// an edge joins teacher layer i to student layer j with stroke width `maxStroke`·λᵢⱼ (so width
/// ∝ λ; edges with λ = 0 are left out) and a tooltip giving λᵢⱼ. Labels are XML-escaped.
/// Shapes: λ [n_teacher, n_student], entries in [0, 1] (columns summing to 1 for `mi`).
public enum LambdaGraph {
    /// An SVG document (with XML declaration) for the given layer names and λ matrix.
    public static func svg(teacherLayers: [String], studentLayers: [String], lambda: Tensor,
                           title: String = "λ: teacher → student layer ties", maxStroke: Double = 12) -> String {
        let nt = teacherLayers.count, ns = studentLayers.count
        ensure(lambda.shape == [nt, ns], "LambdaGraph: λ \(Shape.describe(lambda.shape)) does not match \(nt) teacher and \(ns) student layers")
        let values = lambda.scalars
        let rowGap = 56.0, top = 70.0, xt = 220.0, xs = 520.0, width = 740.0
        let height = top + rowGap * Double(max(nt, ns, 1)) + 20
        func y(_ k: Int, of n: Int) -> Double {
            // centre the shorter column against the longer one
            let offset = (Double(max(nt, ns)) - Double(n)) * rowGap / 2
            return top + offset + rowGap * (Double(k) + 0.5)
        }
        func f(_ x: Double) -> String { String(format: "%.2f", x) }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"sans-serif\" font-size=\"13\">\n"
        out += "  <title>\(SVGPlot.escape(title))</title>\n"
        out += "  <rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"white\"/>\n"
        out += "  <text x=\"\(f(xt))\" y=\"30\" text-anchor=\"middle\" font-weight=\"bold\">teacher</text>\n"
        out += "  <text x=\"\(f(xs))\" y=\"30\" text-anchor=\"middle\" font-weight=\"bold\">student</text>\n"
        out += "  <g id=\"edges\" stroke=\"#3b6ea8\" stroke-linecap=\"round\" fill=\"none\">\n"
        for i in 0..<nt {
            for j in 0..<ns {
                let l = Double(values[i * ns + j])
                guard l > 0, l.isFinite else { continue }
                out += "    <line x1=\"\(f(xt + 8))\" y1=\"\(f(y(i, of: nt)))\" x2=\"\(f(xs - 8))\" y2=\"\(f(y(j, of: ns)))\" stroke-width=\"\(f(maxStroke * min(l, 1)))\" stroke-opacity=\"0.7\">"
                out += "<title>\(SVGPlot.escape(teacherLayers[i])) → \(SVGPlot.escape(studentLayers[j])): λ = \(String(format: "%.3f", l))</title></line>\n"
            }
        }
        out += "  </g>\n  <g id=\"teacher\">\n"
        for (i, name) in teacherLayers.enumerated() {
            out += "    <circle cx=\"\(f(xt))\" cy=\"\(f(y(i, of: nt)))\" r=\"8\" fill=\"#c0392b\"/>\n"
            out += "    <text x=\"\(f(xt - 14))\" y=\"\(f(y(i, of: nt) + 4))\" text-anchor=\"end\">\(SVGPlot.escape(name))</text>\n"
        }
        out += "  </g>\n  <g id=\"student\">\n"
        for (j, name) in studentLayers.enumerated() {
            out += "    <circle cx=\"\(f(xs))\" cy=\"\(f(y(j, of: ns)))\" r=\"8\" fill=\"#27ae60\"/>\n"
            out += "    <text x=\"\(f(xs + 14))\" y=\"\(f(y(j, of: ns) + 4))\" text-anchor=\"start\">\(SVGPlot.escape(name))</text>\n"
        }
        out += "  </g>\n</svg>\n"
        return out
    }

    /// The graph of a prepared `mi` loss: its tap names and current λ.
    public static func svg(for loss: MutualInformationLoss, title: String = "λ: teacher → student layer ties") -> String {
        svg(teacherLayers: loss.teacherLayerNames, studentLayers: loss.studentLayerNames, lambda: loss.lambdaMatrix, title: title)
    }
}

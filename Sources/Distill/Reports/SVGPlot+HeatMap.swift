extension SVGPlot {
    /// Heat map of z[row][col] over x (columns) and y (rows) with a colour bar, optional contour
    /// lines at `contours` levels (marching squares), and labelled marker points (e.g. "init",
    /// "student", "teacher").
    ///
    /// Cell (row i, column j) is centred on (x[j], y[i]) and reaches halfway to its neighbours;
    /// colours follow viridis over the finite range of z (linear), and non-finite or missing cells
    /// are grey. x and y should be finite and monotonic; otherwise column and row indices are used.
    /// Contours are traced through the cell centres with linear interpolation along cell edges,
    /// saddles resolved by the mean of the four corners; each level is also marked on the colour
    /// bar. Markers outside the plotted domain are pinned to its edge; non-finite ones are skipped.
    /// Output: a standalone SVG 1.1 document of `width` × `height` px (at least 200 × 150).
    public static func heatMap(title: String, xLabel: String, yLabel: String, x: [Double], y: [Double], z: [[Double]],
                               contours: [Double] = [], markers: [(label: String, x: Double, y: Double)] = [],
                               width: Int = 560, height: Int = 480) -> String {
        let W = max(width, 200), H = max(height, 150)
        var c = SVGCanvas(width: W, height: H)
        let xs = axisValues(x), ys = axisValues(y)
        let nx = xs.count, ny = ys.count
        func zv(_ i: Int, _ j: Int) -> Double? {
            guard i < z.count, j < z[i].count, z[i][j].isFinite, abs(z[i][j]) <= 1e300 else { return nil }
            return z[i][j]
        }
        var zmin = Double.infinity, zmax = -Double.infinity
        for i in 0..<ny { for j in 0..<nx { if let v = zv(i, j) { zmin = min(zmin, v); zmax = max(zmax, v) } } }
        let hasData = zmin <= zmax

        let ex = cellEdges(xs), ey = cellEdges(ys)
        let top = title.isEmpty ? 16.0 : 40.0
        let bottom = xLabel.isEmpty ? 32.0 : 52.0
        let plotH = Double(H) - top - bottom
        let yTicks = linearTicks(ey.min() ?? 0, ey.max() ?? 1, target: max(2, Int(plotH / 55)), expand: false)
        let zTicks = linearTicks(hasData ? zmin : 0, hasData ? zmax : 1, target: max(2, Int(plotH / 55)), expand: false)
        let left = 10 + (yLabel.isEmpty ? 0 : 18) + maxLabelWidth(yTicks) + 8
        let right = 16 + 16 + 8 + maxLabelWidth(zTicks) + 12
        var xTarget = max(2, Int((Double(W) - left - right) / 80))
        var xTicks: Ticks
        repeat {
            xTicks = linearTicks(ex.min() ?? 0, ex.max() ?? 1, target: xTarget, expand: false)
            let spacing = (Double(W) - left - right) / Double(max(xTicks.values.count - 1, 1))
            if maxLabelWidth(xTicks) + 10 <= spacing || xTarget <= 2 { break }
            xTarget -= 1
        } while true
        let r = PlotRect(x0: left, y0: top, x1: Double(W) - right, y1: Double(H) - bottom)
        let sx = Scale(xTicks, r.x0, r.x1), sy = Scale(yTicks, r.y1, r.y0)
        func colourOf(_ v: Double) -> String {
            viridis(zTicks.hi > zTicks.lo ? (v - zTicks.lo) / (zTicks.hi - zTicks.lo) : 0.5)
        }

        drawTitle(&c, title)
        c.raw("<g shape-rendering=\"crispEdges\">")
        for i in 0..<ny {
            let ya = sy(ey[i]), yb = sy(ey[i + 1])
            for j in 0..<nx {
                let xa = sx(ex[j]), xb = sx(ex[j + 1])
                c.rect(min(xa, xb), min(ya, yb), abs(xb - xa), abs(yb - ya), fill: zv(i, j).map(colourOf) ?? "#bdbdbd")
            }
        }
        c.raw("</g>")
        if !hasData { drawNoData(&c, r) }

        let levels = contours.filter { $0.isFinite && hasData && $0 >= zmin && $0 <= zmax }
        for level in levels {
            let segments = marchingSquares(nx: nx, ny: ny, level: level, value: zv) { i, j in (sx(xs[j]), sy(ys[i])) }
            guard !segments.isEmpty else { continue }
            let d = segments.map { "M\(coord($0.0)) \(coord($0.1))L\(coord($0.2)) \(coord($0.3))" }.joined()
            c.raw("<g><title>\(escape(trimmed(level, maxDecimals: 6)))</title>")
            c.raw("<path d=\"\(d)\" fill=\"none\" stroke=\"#000000\" stroke-opacity=\"0.45\" stroke-width=\"2.4\"/>")
            c.raw("<path d=\"\(d)\" fill=\"none\" stroke=\"#ffffff\" stroke-width=\"1.1\"/>")
            c.raw("</g>")
        }

        drawYAxis(&c, r, yTicks, sy, label: yLabel)
        drawXAxis(&c, r, xTicks, sx, label: xLabel)
        c.line(r.x0, r.y0, r.x1, r.y0, stroke: axisColour)
        c.line(r.x1, r.y0, r.x1, r.y1, stroke: axisColour)

        // Markers, with labels nudged vertically away from earlier labels.
        let markerColours = ["#D55E00", "#56B4E9", "#E69F00", "#CC79A7", "#F0E442", "#009E73", "#0072B2", "#000000"]
        var boxes: [(Double, Double, Double, Double)] = []
        for (k, m) in markers.enumerated() where m.x.isFinite && m.y.isFinite {
            let px = min(max(sx(m.x), r.x0), r.x1), py = min(max(sy(m.y), r.y0), r.y1)
            c.circle(px, py, r: 5, fill: markerColours[k % markerColours.count], extra: " stroke=\"#ffffff\" stroke-width=\"1.5\"")
            guard !m.label.isEmpty else { continue }
            let label = truncate(m.label, maxWidth: (r.x1 - r.x0) / 2, size: labelFont)
            let w = textWidth(label, size: labelFont)
            let toLeft = px + 9 + w > r.x1
            let lx = toLeft ? px - 9 : px + 9
            let bx0 = toLeft ? lx - w : lx
            var ly = py + 4
            for dy in [0.0, -14, 14, -28, 28, -42, 42] {
                let cand = py + 4 + dy
                let hit = boxes.contains { b in bx0 < b.2 && bx0 + w > b.0 && cand - 11 < b.3 && cand + 2 > b.1 }
                if !hit { ly = cand; break }
            }
            boxes.append((bx0, ly - 11, bx0 + w, ly + 2))
            let anchor: SVGCanvas.Anchor = toLeft ? .end : .start
            c.text(label, lx, ly, size: labelFont, anchor: anchor, bold: true, fill: "#ffffff",
                   extra: " stroke=\"#ffffff\" stroke-width=\"3\" stroke-linejoin=\"round\"")
            c.text(label, lx, ly, size: labelFont, anchor: anchor, bold: true, fill: "#000000")
        }

        // Colour bar: 64 stacked bands from the lowest value (bottom) to the highest, ticks, levels.
        let bx = r.x1 + 16, bw = 16.0
        let sz = Scale(zTicks, r.y1, r.y0)
        c.raw("<g shape-rendering=\"crispEdges\">")
        let bands = 64
        for b in 0..<bands {
            let y0 = r.y1 - (r.y1 - r.y0) * Double(b + 1) / Double(bands)
            let h = (r.y1 - r.y0) / Double(bands)
            c.rect(bx, y0, bw, h + 0.5, fill: viridis((Double(b) + 0.5) / Double(bands)))
        }
        c.raw("</g>")
        c.rect(bx, r.y0, bw, r.y1 - r.y0, fill: "none", extra: " stroke=\"\(axisColour)\" stroke-width=\"1\"")
        for (v, l) in zip(zTicks.values, zTicks.labels) {
            let yy = sz(v)
            c.line(bx + bw, yy, bx + bw + 4, yy, stroke: axisColour)
            c.text(l, bx + bw + 7, yy + 4, size: tickFont)
        }
        for level in levels { c.line(bx - 3, sz(level), bx + bw + 3, sz(level), stroke: "#000000", width: 1.5) }
        return c.render(title: title)
    }

    /// Viridis (van der Walt & Smith, matplotlib 2.0's default map; perceptually uniform and
    /// colour-blind safe) at t ∈ [0, 1], interpolated linearly between 10 stops; NaN gives the middle.
    static func viridis(_ t: Double) -> String {
        let stops: [(Double, Double, Double)] = [
            (0x44, 0x01, 0x54), (0x48, 0x28, 0x78), (0x3E, 0x49, 0x89), (0x31, 0x68, 0x8E), (0x26, 0x82, 0x8E),
            (0x1F, 0x9E, 0x89), (0x35, 0xB7, 0x79), (0x6E, 0xCE, 0x58), (0xB5, 0xDE, 0x2B), (0xFD, 0xE7, 0x25),
        ]
        let u = t.isFinite ? min(max(t, 0), 1) : 0.5
        let f = u * Double(stops.count - 1)
        let k = min(Int(f), stops.count - 2)
        let w = f - Double(k)
        let (a, b) = (stops[k], stops[k + 1])
        func hex(_ x: Double, _ y: Double) -> String {
            let v = Int((x + (y - x) * w).rounded())
            let s = String(min(max(v, 0), 255), radix: 16)
            return s.count == 1 ? "0" + s : s
        }
        return "#" + hex(a.0, b.0) + hex(a.1, b.1) + hex(a.2, b.2)
    }

    /// The axis coordinates when all are finite and strictly monotonic, else 0, 1, 2, ….
    static func axisValues(_ v: [Double]) -> [Double] {
        let finite = v.allSatisfy { $0.isFinite && abs($0) <= 1e300 }
        let up = zip(v, v.dropFirst()).allSatisfy { $0 < $1 }
        let down = zip(v, v.dropFirst()).allSatisfy { $0 > $1 }
        return finite && (up || down) ? v : v.indices.map(Double.init)
    }

    /// Cell boundaries: halfway between neighbours, the outer ones mirrored; a single coordinate
    /// gets a cell ±10% of its magnitude wide (±0.5 at 0). Count: v.count + 1, or 0 when empty.
    static func cellEdges(_ v: [Double]) -> [Double] {
        guard let first = v.first, let last = v.last else { return [] }
        if v.count == 1 {
            let h = first == 0 ? 0.5 : abs(first) * 0.1
            return [first - h, first + h]
        }
        var e = [first - (v[1] - first) / 2]
        for k in 1..<v.count { e.append((v[k - 1] + v[k]) / 2) }
        e.append(last + (last - v[v.count - 2]) / 2)
        return e
    }

    /// Marching squares: the segments (x1, y1, x2, y2) of the `level` contour over an ny × nx grid
    /// whose node (i, j) has value `value(i, j)` (nil: no contour through its cells) at `point(i, j)`.
    /// Corners a = (i, j), b = (i, j+1), c = (i+1, j+1), d = (i+1, j); a corner is "inside" when its
    /// value is ≥ level. Edges: 0 = ab, 1 = bc, 2 = cd, 3 = da.
    static func marchingSquares(nx: Int, ny: Int, level: Double, value: (Int, Int) -> Double?,
                                point: (Int, Int) -> (Double, Double)) -> [(Double, Double, Double, Double)] {
        guard nx >= 2, ny >= 2 else { return [] }
        var out: [(Double, Double, Double, Double)] = []
        for i in 0..<(ny - 1) {
            for j in 0..<(nx - 1) {
                guard let a = value(i, j), let b = value(i, j + 1), let cc = value(i + 1, j + 1), let d = value(i + 1, j) else { continue }
                let corners = [(i, j, a), (i, j + 1, b), (i + 1, j + 1, cc), (i + 1, j, d)]
                var code = 0
                for (k, corner) in corners.enumerated() where corner.2 >= level { code |= 1 << k }
                if code == 0 || code == 15 { continue }
                func crossing(_ edge: Int) -> (Double, Double) {
                    let p = corners[edge], q = corners[(edge + 1) % 4]
                    let t = q.2 == p.2 ? 0.5 : (level - p.2) / (q.2 - p.2)
                    let pp = point(p.0, p.1), qp = point(q.0, q.1)
                    return (pp.0 + (qp.0 - pp.0) * t, pp.1 + (qp.1 - pp.1) * t)
                }
                let centreInside = (a + b + cc + d) / 4 >= level
                let pairs: [(Int, Int)]
                switch code {
                case 1, 14: pairs = [(3, 0)]
                case 2, 13: pairs = [(0, 1)]
                case 3, 12: pairs = [(3, 1)]
                case 4, 11: pairs = [(1, 2)]
                case 6, 9: pairs = [(0, 2)]
                case 7, 8: pairs = [(2, 3)]
                case 5: pairs = centreInside ? [(0, 1), (2, 3)] : [(3, 0), (1, 2)]
                default: pairs = centreInside ? [(3, 0), (1, 2)] : [(0, 1), (2, 3)]  // 10
                }
                for (e1, e2) in pairs {
                    let p = crossing(e1), q = crossing(e2)
                    out.append((p.0, p.1, q.0, q.1))
                }
            }
        }
        return out
    }
}

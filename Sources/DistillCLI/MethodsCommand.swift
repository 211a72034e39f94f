import ArgumentParser
import Distill

struct Methods: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the distillation methods with their options, defaults and papers.",
        discussion: "With a name (distill methods fitnet), prints that method's card instead. Options are set in an experiment file's method options or on the command line as --method NAME:KEY=VALUE,KEY=VALUE.")

    @Argument(help: "A method name to show its card.") var name: String?

    func run() throws {
        try reportingErrors {
            if let name {
                print(try MethodRegistry.entry(name).card)
                return
            }
            for (k, e) in MethodRegistry.entries.enumerated() {
                if k > 0 { print("") }
                print("\(e.name)  \(e.summary)")
                print("  paper: \(e.paper)")
                let opts = e.options.map { o in
                    "\(o.name)=\(o.defaultValue.map { $0.isEmpty ? "(unset)" : $0 } ?? "(required)")" + (o.onlyWith.map { " (with \($0))" } ?? "")
                }
                print("  options: " + (opts.isEmpty ? "(none)" : opts.joined(separator: ", ")))
            }
        }
    }
}

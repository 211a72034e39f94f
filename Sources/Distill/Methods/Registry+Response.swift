import DistillCore
import DistillNN

extension MethodRegistry {
    /// response-based methods.
    public static var response: [MethodEntry] { [] }
}

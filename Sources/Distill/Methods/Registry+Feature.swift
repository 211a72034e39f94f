import DistillCore
import DistillNN

extension MethodRegistry {
    /// feature-based methods.
    public static var feature: [MethodEntry] { [] }
}

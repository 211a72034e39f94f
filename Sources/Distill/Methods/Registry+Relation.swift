import DistillCore
import DistillNN

extension MethodRegistry {
    /// relation-based methods.
    public static var relation: [MethodEntry] { [] }
}

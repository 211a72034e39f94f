// libFuzzer driver of the 'model-spec' fuzz target (`make fuzz` builds it with -sanitize=fuzzer,address).
import DistillFuzz
import Foundation

exit(FuzzTargets.drive("model-spec"))

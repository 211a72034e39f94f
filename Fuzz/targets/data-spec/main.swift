// libFuzzer driver of the 'data-spec' fuzz target (`make fuzz` builds it with -sanitize=fuzzer,address).
import DistillFuzz
import Foundation

exit(FuzzTargets.drive("data-spec"))

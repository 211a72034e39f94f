// libFuzzer driver of the 'method-spec' fuzz target (`make fuzz` builds it with -sanitize=fuzzer,address).
import DistillFuzz
import Foundation

exit(FuzzTargets.drive("method-spec"))

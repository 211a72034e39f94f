// libFuzzer driver of the 'idx' fuzz target (`make fuzz` builds it with -sanitize=fuzzer,address).
import DistillFuzz
import Foundation

exit(FuzzTargets.drive("idx"))

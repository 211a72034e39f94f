// libFuzzer driver of the 'dsa-strategy' fuzz target (`make fuzz` builds it with -sanitize=fuzzer,address).
import DistillFuzz
import Foundation

exit(FuzzTargets.drive("dsa-strategy"))

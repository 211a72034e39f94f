// libFuzzer driver of the 'safetensors' fuzz target (`make fuzz` builds it with -sanitize=fuzzer,address).
import DistillFuzz
import Foundation

exit(FuzzTargets.drive("safetensors"))

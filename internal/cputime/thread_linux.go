package cputime

// rusageThread is RUSAGE_THREAD, which the syscall package does not name.
const rusageThread = 1

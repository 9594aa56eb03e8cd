package health

import "syscall"

const errConnRefused = syscall.ECONNREFUSED

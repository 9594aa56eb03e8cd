// Command printversion prints buildinfo.String, for TestLinkerFlagSetsVersion.
package main

import (
	"fmt"

	"github.com/hachat/hachat/internal/buildinfo"
)

func main() { fmt.Print(buildinfo.String("x")) }

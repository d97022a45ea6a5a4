//go:build tools

// Package tools pins the Whereabouts IPAM CNI plugin that test/bench/whereabouts.ts runs side by
// side with the operator's allocator. Only the binary is built from it (hack/build-whereabouts.sh).
package tools

import _ "github.com/k8snetworkplumbingwg/whereabouts/cmd"

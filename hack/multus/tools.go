//go:build tools

// Package tools records the one binary built from this module (hack/build-cni.sh).
package tools

import _ "gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/multus"

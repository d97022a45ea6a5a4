//go:build tools

// Package tools pins the CNI plugins built from this module so `go mod tidy` keeps them.
package tools

import (
	_ "github.com/containernetworking/plugins/plugins/ipam/static"
	_ "github.com/k8snetworkplumbingwg/ovs-cni/cmd/plugin"
)

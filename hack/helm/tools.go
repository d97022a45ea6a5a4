//go:build tools

// Pins Helm's CLI (helm.sh/helm/v3/cmd/helm) for hack/build-helm.sh; nothing imports this package.
package tools

import _ "helm.sh/helm/v3/cmd/helm"

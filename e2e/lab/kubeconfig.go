package lab

import (
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes a kubeconfig for server with the given client
// certificate, credentials embedded so the file works on its own.
func writeKubeconfig(path, server string, caPEM []byte, user certPair) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["barelb-lab"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["lab-user"] = &clientcmdapi.AuthInfo{ClientCertificateData: user.Cert, ClientKeyData: user.Key}
	cfg.Contexts["barelb-lab"] = &clientcmdapi.Context{Cluster: "barelb-lab", AuthInfo: "lab-user", Namespace: "default"}
	cfg.CurrentContext = "barelb-lab"
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

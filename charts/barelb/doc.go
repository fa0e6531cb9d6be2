// Package barelb holds no code: its directory is barelb's Helm chart, and
// its tests run the real helm and promtool against it: lint, renders with
// default and non-default values applied to a real kube-apiserver,
// install/upgrade/uninstall there, the values schema's refusals, and the
// alerting rules' unit tests. .helmignore keeps the Go files and test
// data out of the packaged chart.
package barelb

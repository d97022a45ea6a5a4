import assert from "node:assert/strict";
import { countsDelta, parseCounts, perVmLine } from "../bench/apiserver";

// The lines of kube-apiserver's /metrics the scale bench reads (v1.34 label sets).
const METRICS = (claimPosts: number, watchEvents: number): string =>
  [
    "# HELP apiserver_request_total [STABLE] Counter of apiserver requests",
    `apiserver_request_total{code="201",component="apiserver",dry_run="",group="vmnet.io",resource="ipclaims",scope="resource",subresource="",verb="POST",version="v1alpha1"} ${claimPosts}`,
    `apiserver_request_total{code="409",component="apiserver",dry_run="",group="vmnet.io",resource="ipclaims",scope="resource",subresource="",verb="POST",version="v1alpha1"} 1`,
    `apiserver_request_total{code="200",component="apiserver",dry_run="",group="vmnet.io",resource="ipclaims",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} ${claimPosts}`,
    `apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="",scope="cluster",subresource="/api",verb="GET",version=""} 3`,
    `apiserver_watch_events_total{group="vmnet.io",resource="ipclaims",version="v1alpha1"} ${watchEvents}`,
    `apiserver_watch_events_sizes_sum{group="vmnet.io",resource="ipclaims",version="v1alpha1"} ${watchEvents * 1024}`,
    `apiserver_admission_webhook_admission_duration_seconds_count{name="pods.vmnet.io",operation="CREATE",rejected="false",type="admit"} 2`,
  ].join("\n");

describe("bench: the API server's request counters", () => {
  it("counts requests by verb and resource (codes summed, subresource after a slash), watch events and bytes by resource", () => {
    const c = parseCounts(METRICS(10, 4));
    assert.equal(c["POST ipclaims"], 11);
    assert.equal(c["PATCH ipclaims/status"], 10);
    assert.equal(c["watch events ipclaims"], 4);
    assert.equal(c["watch bytes ipclaims"], 4096);
    assert.equal(c["webhook pods.vmnet.io CREATE"], 2);
  });

  it("prints per VM what changed in a window, dropping counters that did not move or moved less than once per 200 VMs", () => {
    const delta = countsDelta(parseCounts(METRICS(10, 4)), parseCounts(METRICS(110, 204)));
    assert.deepEqual(delta, {
      "POST ipclaims": 100,
      "PATCH ipclaims/status": 100,
      "watch events ipclaims": 200,
      "watch bytes ipclaims": 204800,
    });
    assert.equal(
      perVmLine(delta, 100),
      "2.00 requests per VM: POST ipclaims 1.00, PATCH ipclaims/status 1.00; watch events per VM: ipclaims 2.00 (2.0 KB); webhook calls per VM: none",
    );
  });
});

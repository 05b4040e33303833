"""The scheduler and the kubelet of the sim's single node ``sim-node``.

Scheduling (kube-scheduler's volume binding): a pod is assigned to ``sim-node`` only when every
PVC it names exists and is not being deleted; an unbound PVC of a WaitForFirstConsumer class
gets ``volume.kubernetes.io/selected-node`` (which starts its provisioning); an unbound PVC
of an Immediate class keeps the pod unschedulable, with the real FailedScheduling message.

Kubelet: once every PVC is Bound and every configMap/secret volume and env source exists
(else FailedMount / CreateContainerConfigError, as the kubelet reports), the containers' commands
run as local processes (:mod:`restore_drill.clusters.sim.runner`) with volumes at their
mountPaths. Exit codes give the container states and the pod phase (restartPolicy Always and
OnFailure restart with a short back-off). ``readinessProbe.exec`` runs with the same mounts
(period capped at 1 s so drills stay fast). A running pod carries the finalizer
``sim.restore-drill/process`` so that, like a real graceful deletion, a deleted pod stays
(Terminating) until its processes are gone: SIGTERM, then SIGKILL after
terminationGracePeriodSeconds capped at 3 s. Init containers are not run.
"""

from __future__ import annotations

import threading
from typing import Any

from restore_drill.clusters.sim.controllers.base import Controller, Obj, SimContext, now
from restore_drill.clusters.sim.controllers.pod_setup import Missing, container_spec, volumes_of
from restore_drill.clusters.sim.controllers.protection import claims_of
from restore_drill.clusters.sim.controllers.storage import NODE, SELECTED_NODE
from restore_drill.clusters.sim.runner import PodRunner
from restore_drill.k8s import CONFIG_MAP, POD, PVC, SECRET, STORAGE_CLASS, Kind

PROCESS_FINALIZER = "sim.restore-drill/process"
NO_PREEMPTION = "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
PROBE_PERIOD_CAP = 1.0
SCHEDULER = "default-scheduler"
KUBELET = "kubelet"


class PodController(Controller):
    watches = (POD, PVC, SECRET, CONFIG_MAP)
    workers = 2  # a deletion waits for processes to exit: never block starting others

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.runner = PodRunner(ctx.pods_dir)
        self._restarts: dict[tuple[str, str, str], int] = {}
        self._ready: dict[tuple[str, str, str], bool] = {}
        self._probing: dict[tuple[str, str], threading.Event] = {}
        self._restarting: set[tuple[str, str, str]] = set()

    def reconcile(self, kind: Kind, namespace: str | None, name: str) -> float | None:
        if not namespace:
            return None
        if kind != POD:  # a claim, secret or config map changed: retry the waiting pods
            for pod in self.kube.list(POD, namespace, field_selector="status.phase=Pending"):
                self.enqueue(POD, namespace, pod["metadata"]["name"])
            return None
        found = self.kube.find(POD, name, namespace)
        if found is None:
            self.forget(namespace, name)
            return None
        pod = found
        if pod["metadata"].get("deletionTimestamp"):
            grace = float(pod["spec"].get("terminationGracePeriodSeconds", 30))
            self.forget(namespace, name, grace)
            self.drop_finalizer(pod)
            return None
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            self.drop_finalizer(pod)
            return None
        if not pod["spec"].get("nodeName"):
            if not self.schedule(pod):
                return None
            pod = self.kube.get(POD, name, namespace)
        if self.runner.state(namespace, name, self.containers(pod)[0]["name"]) is None:
            return self.start_pod(pod)
        return self.update_status(pod)

    @staticmethod
    def containers(pod: Obj) -> list[Obj]:
        return list(pod["spec"].get("containers") or [])

    # --- scheduler -----------------------------------------------------------------------

    def schedule(self, pod: Obj) -> bool:
        meta = pod["metadata"]
        waiting_for_consumer = []
        for claim in sorted(claims_of(pod)):
            pvc = self.kube.find(PVC, claim, meta["namespace"])
            problem = ""
            if pvc is None:
                problem = f'persistentvolumeclaim "{claim}" not found'
            elif pvc["metadata"].get("deletionTimestamp"):
                problem = f'persistentvolumeclaim "{claim}" is being deleted'
            elif not pvc["spec"].get("volumeName"):
                sc_name = pvc["spec"].get("storageClassName")
                sc = self.kube.find(STORAGE_CLASS, sc_name) if sc_name else None
                if sc and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
                    waiting_for_consumer.append(pvc)
                else:
                    problem = "pod has unbound immediate PersistentVolumeClaims"
            if problem:
                message = f"0/1 nodes are available: {problem}. {NO_PREEMPTION}"
                self.ctx.event(pod, "Warning", "FailedScheduling", message, SCHEDULER)
                self.write_status(
                    pod,
                    {
                        "phase": "Pending",
                        "conditions": [
                            {
                                "type": "PodScheduled",
                                "status": "False",
                                "reason": "Unschedulable",
                                "message": message,
                                "lastTransitionTime": now(),
                            }
                        ],
                    },
                )
                return False
        for pvc in waiting_for_consumer:
            if SELECTED_NODE not in (pvc["metadata"].get("annotations") or {}):
                self.kube.patch(
                    PVC,
                    pvc["metadata"]["name"],
                    {"metadata": {"annotations": {SELECTED_NODE: NODE}}},
                    meta["namespace"],
                )
        self.kube.patch(POD, meta["name"], {"spec": {"nodeName": NODE}}, meta["namespace"])
        self.ctx.event(
            pod,
            "Normal",
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/{meta['name']} to {NODE}",
            SCHEDULER,
        )
        self.write_status(
            pod,
            {
                "phase": "Pending",
                "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": now()}
                ],
            },
        )
        return True

    # --- kubelet: start ------------------------------------------------------------------

    def start_pod(self, pod: Obj) -> float | None:
        meta = pod["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        for claim in claims_of(pod):
            pvc = self.kube.find(PVC, claim, namespace)
            if pvc is None or (pvc.get("status") or {}).get("phase") != "Bound":
                return None  # the PVC watch brings us back
        try:
            volumes = volumes_of(self.kube, self.ctx, pod)
            specs = [container_spec(self.kube, pod, c, volumes) for c in self.containers(pod)]
        except Missing as missing:
            self.ctx.event(pod, "Warning", missing.reason, missing.message, KUBELET)
            if missing.reason == "Failed":
                self.write_status(
                    pod,
                    {
                        "containerStatuses": [
                            self.waiting(c, "CreateContainerConfigError", missing.detail)
                            for c in self.containers(pod)
                        ]
                    },
                )
            return 5.0
        if PROCESS_FINALIZER not in (meta.get("finalizers") or []):
            self.kube.patch(
                POD,
                name,
                {
                    "metadata": {
                        "finalizers": [*(meta.get("finalizers") or []), PROCESS_FINALIZER],
                        "resourceVersion": meta["resourceVersion"],
                    }
                },
                namespace,
            )
        started = now()
        for container, spec in zip(self.containers(pod), specs, strict=True):
            self.ctx.event(
                pod,
                "Normal",
                "Pulled",
                f'Container image "{container.get("image")}" already present on machine',
                KUBELET,
            )
            self.runner.start(
                namespace, name, spec, started, lambda: self.enqueue(POD, namespace, name)
            )
            self.ctx.event(pod, "Normal", "Created", f"Created container: {spec.name}", KUBELET)
            self.ctx.event(pod, "Normal", "Started", f"Started container {spec.name}", KUBELET)
        self.start_probes(pod, specs)
        return self.update_status(self.kube.get(POD, name, namespace), started)

    def start_probes(self, pod: Obj, specs: list[Any]) -> None:
        meta = pod["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        probed = [
            (c, s)
            for c, s in zip(self.containers(pod), specs, strict=True)
            if ((c.get("readinessProbe") or {}).get("exec") or {}).get("command")
        ]
        if not probed:
            return
        stop = threading.Event()
        self._probing[(namespace, name)] = stop

        def loop() -> None:
            delay = min(float(probed[0][0]["readinessProbe"].get("initialDelaySeconds", 0)), 1.0)
            stop.wait(delay)
            while not stop.is_set():
                for container, spec in probed:
                    probe = container["readinessProbe"]
                    ok = self.runner.probe(
                        namespace,
                        name,
                        spec,
                        list(probe["exec"]["command"]),
                        timeout=float(probe.get("timeoutSeconds", 5)),
                    )
                    key = (namespace, name, spec.name)
                    if self._ready.get(key) != ok:
                        self._ready[key] = ok
                        self.enqueue(POD, namespace, name)
                period = float(probed[0][0]["readinessProbe"].get("periodSeconds", 10))
                stop.wait(min(period, PROBE_PERIOD_CAP))

        threading.Thread(target=loop, name=f"probe-{name}", daemon=True).start()

    # --- kubelet: status -----------------------------------------------------------------

    def update_status(self, pod: Obj, started: str = "") -> float | None:
        meta, spec = pod["metadata"], pod["spec"]
        namespace, name = meta["namespace"], meta["name"]
        policy = spec.get("restartPolicy", "Always")
        statuses: list[Obj] = []
        all_done, all_ok = True, True
        for container in self.containers(pod):
            key = (namespace, name, container["name"])
            running = self.runner.state(*key)
            restarts = self._restarts.get(key, 0)
            base = {
                "name": container["name"],
                "image": container.get("image", ""),
                "imageID": "",
                "restartCount": restarts,
            }
            if running is None:
                statuses.append(self.waiting(container, "ContainerCreating", ""))
                all_done = False
                continue
            code = running.exit_code
            if code is None:
                probed = bool((container.get("readinessProbe") or {}).get("exec"))
                ready = self._ready.get(key, False) if probed else True
                statuses.append(
                    {
                        **base,
                        "containerID": f"sim://{running.process.pid}",
                        "ready": ready,
                        "started": True,
                        "state": {"running": {"startedAt": running.started_at}},
                    }
                )
                all_done = False
                all_ok = all_ok and ready
                continue
            if policy == "Always" or (policy == "OnFailure" and code != 0):
                if key not in self._restarting:  # CrashLoopBackOff, with a shorter back-off
                    self._restarting.add(key)
                    self._restarts[key] = restarts + 1
                    self.restart_later(pod, container, min(0.5 * 2**restarts, 10.0))
                all_done = False
                all_ok = False
            statuses.append(
                {
                    **base,
                    "containerID": f"sim://{running.process.pid}",
                    "ready": False,
                    "started": False,
                    "state": {
                        "terminated": {
                            "exitCode": code,
                            "reason": "Completed" if code == 0 else "Error",
                            "startedAt": running.started_at,
                            "finishedAt": now(),
                        }
                    },
                }
            )
        codes = [s["state"].get("terminated", {}).get("exitCode") for s in statuses]
        if all_done:
            phase = "Succeeded" if all(c == 0 for c in codes) else "Failed"
        else:
            phase = "Running"
        ready_status = "True" if phase == "Running" and all_ok else "False"
        current = pod.get("status") or {}
        status = {
            "phase": phase,
            "hostIP": "127.0.0.1",
            "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}],
            "qosClass": current.get("qosClass", "BestEffort"),
            "startTime": current.get("startTime") or started or now(),
            "containerStatuses": statuses,
            "conditions": self.conditions(current, ready_status),
        }
        if any(status[k] != current.get(k) for k in ("phase", "containerStatuses")) or (
            [c.get("status") for c in status["conditions"]]
            != [c.get("status") for c in current.get("conditions") or []]
        ):
            self.write_status(pod, status)
        if phase in ("Succeeded", "Failed"):
            self.stop_probes(namespace, name)
            self.drop_finalizer(self.kube.get(POD, name, namespace))
        return None

    @staticmethod
    def conditions(current: Obj, ready: str) -> list[Obj]:
        old = {c.get("type"): c for c in current.get("conditions") or []}
        result = []
        for kind, status in (
            ("PodReadyToStartContainers", "True"),
            ("Initialized", "True"),
            ("Ready", ready),
            ("ContainersReady", ready),
            ("PodScheduled", "True"),
        ):
            before = old.get(kind) or {}
            stamp = before.get("lastTransitionTime") if before.get("status") == status else now()
            result.append({"type": kind, "status": status, "lastTransitionTime": stamp})
        return result

    @staticmethod
    def waiting(container: Obj, reason: str, message: str) -> Obj:
        state = {"reason": reason, **({"message": message} if message else {})}
        return {
            "name": container["name"],
            "image": container.get("image", ""),
            "imageID": "",
            "ready": False,
            "restartCount": 0,
            "started": False,
            "state": {"waiting": state},
        }

    def restart_later(self, pod: Obj, container: Obj, delay: float) -> None:
        meta = pod["metadata"]
        namespace, name = meta["namespace"], meta["name"]

        def restart() -> None:
            self._restarting.discard((namespace, name, container["name"]))
            current = self.kube.find(POD, name, namespace)
            if current is None or current["metadata"].get("deletionTimestamp"):
                return
            volumes = volumes_of(self.kube, self.ctx, current)
            spec = container_spec(self.kube, current, container, volumes)
            self.runner.start(
                namespace, name, spec, now(), lambda: self.enqueue(POD, namespace, name)
            )
            self.enqueue(POD, namespace, name)

        timer = threading.Timer(delay, restart)
        timer.daemon = True
        timer.start()

    def write_status(self, pod: Obj, status: Obj) -> None:
        meta = pod["metadata"]
        self.kube.patch(
            POD, meta["name"], {"status": status}, meta["namespace"], subresource="status"
        )

    # --- stopping ------------------------------------------------------------------------

    def stop_probes(self, namespace: str, name: str) -> None:
        stop = self._probing.pop((namespace, name), None)
        if stop is not None:
            stop.set()

    def forget(self, namespace: str, name: str, grace: float = 3.0) -> None:
        self.stop_probes(namespace, name)
        self.runner.stop(namespace, name, grace)
        for key in [k for k in self._restarts if k[:2] == (namespace, name)]:
            del self._restarts[key]
        for key in [k for k in self._ready if k[:2] == (namespace, name)]:
            del self._ready[key]

    def drop_finalizer(self, pod: Obj) -> None:
        finalizers = list(pod["metadata"].get("finalizers") or [])
        if PROCESS_FINALIZER not in finalizers:
            return
        index = finalizers.index(PROCESS_FINALIZER)
        self.kube.patch(
            POD,
            pod["metadata"]["name"],
            [
                {"op": "test", "path": f"/metadata/finalizers/{index}", "value": PROCESS_FINALIZER},
                {"op": "remove", "path": f"/metadata/finalizers/{index}"},
            ],
            pod["metadata"]["namespace"],
            content_type="application/json-patch+json",
        )

    def on_stop(self) -> None:
        for stop in self._probing.values():
            stop.set()
        self.runner.stop_all()

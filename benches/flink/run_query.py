#!/usr/bin/env python3
"""Run one Nexmark query file of dataflows/nexmark/ on Flink 2.0 SQL, bounded, and time it.

Usage (with the venv that benches/flink/setup.sh makes):
  /work/flink-peer/venv/bin/python benches/flink/run_query.py q3 \
      --bootstrap 127.0.0.1:PORT --topic nexmark_peer --end-offsets 250000,250000,250000,250000

The files are Flink SQL; before running one, this script
  - points the `kafka` table at --topic / --bootstrap and makes it bounded: after
    'scan.startup.mode' = 'earliest-offset' it adds 'scan.bounded.mode' = 'specific-offsets'
    with the exact end offset of each partition (the test broker's ListOffsets(LATEST) is
    wrong, so 'latest-offset' could stop early);
  - quotes the identifier dateTime as `dateTime`: DATETIME is reserved in Flink 2.0's parser;
  - drops SET 'processing-time' and 'window.emit' (ddflow-only: Flink has processing time
    always, and writes window aggregates on close always) and
    applies any other SET to the table config;
  - replaces ddflow's SQL-bodied CREATE FUNCTION count_char(...) RETURN ... (q14) with a
    Python UDF that does what the reference's Java class CountChar does;
  - makes q13's relative side-input path absolute and sends q10's file sink to a temp dir.
It starts a local Flink cluster (one task manager, --parallelism slots) in the PyFlink JVM, so
neither the JVM's nor the cluster's start is timed; then it times the INSERT from submission
(the execute_sql call: planning, submitting) until the job has finished and prints one JSON line.
"""
import argparse, json, multiprocessing, os, re, shutil, sys, tempfile, threading, time
from pathlib import Path

QUERIES = Path(__file__).resolve().parents[2] / "dataflows" / "nexmark"
TICK = os.sysconf("SC_CLK_TCK")


def statements(text):
    """Split SQL text into statements on ';' outside quotes, dropping `--` comments."""
    out, cur, quote, i = [], [], None, 0
    while i < len(text):
        c = text[i]
        if quote:
            quote = None if c == quote else quote
        elif c in "'`\"":
            quote = c
        elif text.startswith("--", i):
            i = text.find("\n", i)
            if i < 0:
                break
            continue
        elif c == ";":
            out.append("".join(cur).strip())
            cur, c = [], ""
        cur.append(c)
        i += 1
    out.append("".join(cur).strip())
    return [s for s in out if s]


def sub_once(pattern, repl, text, what):
    new, n = re.subn(pattern, repl, text)
    if n != 1:
        raise SystemExit(f"rewrite of {what}: expected one match of {pattern!r}, found {n}")
    return new


def count_char(s, ch):
    # The reference's com.github.nexmark.flink.udf.CountChar: how many bytes of s equal the
    # first byte of ch; 0 for NULL.
    return 0 if s is None else s.encode().count(ch.encode()[:1])


def rewrite(stmts, args, tmpdir):
    """Returns (statements to run in order, SET options, Python UDFs to register)."""
    offsets = ";".join(f"partition:{p},offset:{o}" for p, o in enumerate(args.end_offsets))
    out, sets, udfs = [], {}, {}
    for s in stmts:
        s = re.sub(r"(?<![`\w])dateTime(?![`\w])", "`dateTime`", s)
        if re.match(r"SET\s", s, re.I):
            m = re.fullmatch(r"SET\s+'([^']+)'\s*=\s*'([^']*)'", s, re.S | re.I)
            if not m:
                raise SystemExit(f"cannot read: {s}")
            if m.group(1) not in ("processing-time", "window.emit"):
                sets[m.group(1)] = m.group(2)
            continue
        m = re.match(r"CREATE\s+FUNCTION\s+(\w+)\s*\(.*\bRETURN\b", s, re.I | re.S)
        if m:
            if m.group(1).lower() != "count_char":
                raise SystemExit(f"no Flink stand-in for the SQL function {m.group(1)}")
            udfs["count_char"] = count_char
            continue
        if re.match(r"CREATE\s+TABLE\s+kafka\b", s, re.I):
            s = sub_once(r"'topic'\s*=\s*'[^']*'", f"'topic' = '{args.topic}'", s, "topic")
            s = sub_once(r"'properties\.bootstrap\.servers'\s*=\s*'[^']*'",
                         f"'properties.bootstrap.servers' = '{args.bootstrap}'", s, "bootstrap")
            s = sub_once(r"'scan\.startup\.mode'\s*=\s*'earliest-offset'",
                         "'scan.startup.mode' = 'earliest-offset',\n"
                         "    'scan.bounded.mode' = 'specific-offsets',\n"
                         f"    'scan.bounded.specific-offsets' = '{offsets}'", s, "startup mode")
        elif "'dataflows/nexmark/side_input.csv'" in s:  # q13, relative to the repository
            s = s.replace("'dataflows/nexmark/side_input.csv'", f"'{QUERIES / 'side_input.csv'}'")
        elif re.search(r"'connector'\s*=\s*'filesystem'", s) and re.match(r"CREATE\s+TABLE\s+fs_sink", s, re.I):
            s = sub_once(r"'path'\s*=\s*'[^']*'", f"'path' = '{tmpdir}/q10'", s, "q10 sink path")
        if args.q13_regular_join:
            s = s.replace("JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S", "JOIN side_input AS S")
        out.append(s)
    return out, sets, udfs


def tree(root, skip=()):
    """root and its descendants (the JVM, Python UDF workers), but not the pids in skip."""
    parent = {}
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as f:
                parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            pass
    pids, grew = {root}, True
    while grew:
        new = {p for p, pp in parent.items() if pp in pids and p not in skip} - pids
        pids, grew = pids | new, bool(new)
    return pids


def cpu_seconds(skip):
    """(CPU seconds of this process tree, busy CPU seconds of the whole machine)."""
    mine = 0
    for pid in tree(os.getpid(), skip):
        try:
            with open(f"/proc/{pid}/stat") as f:
                mine += sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:15])
        except OSError:
            pass
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return mine / TICK, (sum(v) - v[3] - v[4]) / TICK


def rss_sampler(root, stop, peak):
    """In a child process: peak summed RSS (MB) of root's tree, every 0.2 s. (A thread of the
    main process could run py4j finalizers and make py4j open a second connection, i.e. a
    second JVM thread, without the Kafka jars on its context class loader.)"""
    me = os.getpid()
    while not stop.is_set():
        total = 0
        for pid in tree(root, {me}):
            try:
                with open(f"/proc/{pid}/status") as f:
                    total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            except (OSError, StopIteration):
                pass
        peak.value = max(peak.value, total / 1024)
        stop.wait(0.2)


def describe(exc):
    """The first line of the error, and its root cause (one line, cut at 300 characters)."""
    if getattr(exc, "java_exception", None) is not None:  # py4j's Py4JJavaError
        msgs, j = [], exc.java_exception
        while j is not None:
            msgs.append(j.getMessage() or j.getClass().getName())
            j = j.getCause()
    else:  # pyflink's converted exceptions carry the Java stack trace as text
        text = str(exc)
        msgs = [re.sub(r"\n\s+at .*", "", m, flags=re.S) for m in text.split("\nCaused by: ")]
        msgs = [re.sub(r"^[\w.$]+(Exception|Error): ", "", m) for m in msgs]
    top = msgs[0].strip().splitlines()[0]
    root = " ".join(msgs[-1].split())[:300]
    return top if root.startswith(top) else f"{top} / root cause: {root}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("query", help="q0..q22, or a path to a .sql file")
    ap.add_argument("--bootstrap", default=os.environ.get("DDFLOW_TEST_BOOTSTRAP", "localhost:9092"))
    ap.add_argument("--topic", default="nexmark")
    ap.add_argument("--end-offsets", required=True, type=lambda s: [int(x) for x in s.split(",")],
                    help="end offset of each partition, in partition order (e.g. 250000,250000,...)")
    ap.add_argument("--parallelism", type=int, default=2)
    ap.add_argument("--jars", default="/work/flink-peer/jars", help="dir with the two Kafka jars")
    ap.add_argument("--timeout", type=float, default=300, help="seconds before the job is cancelled")
    ap.add_argument("--q13-regular-join", action="store_true",
                    help="not the reference: q13's side input as a regular join (Flink 2.0 has "
                         "no processing-time temporal join against a file table)")
    args = ap.parse_args()

    path = Path(args.query) if args.query.endswith(".sql") else QUERIES / f"{args.query}.sql"
    name = path.stem + ("-regular-join" if args.q13_regular_join else "")
    events = sum(args.end_offsets)
    tmpdir = tempfile.mkdtemp(prefix=f"flink-{path.stem}-")
    stmts, sets, udfs = rewrite(statements(path.read_text()), args, tmpdir)
    dml = [s for s in stmts if re.match(r"INSERT\s", s, re.I)]
    if len(dml) != 1:
        raise SystemExit(f"{path}: expected one INSERT, found {len(dml)}")

    mp = multiprocessing.get_context("fork")  # before the JVM and py4j exist
    stop, peak = mp.Event(), mp.Value("d", 0.0)
    sampler = mp.Process(target=rss_sampler, args=(os.getpid(), stop, peak), daemon=True)
    sampler.start()

    from pyflink.java_gateway import get_gateway
    from pyflink.table import EnvironmentSettings, TableEnvironment, DataTypes
    from pyflink.table.udf import udf

    # A session cluster in the PyFlink JVM. (The default local executor starts a new
    # mini-cluster inside each execute_sql: ~4 s here, which would be timed.)
    mc = get_gateway().jvm.org.apache.flink.runtime.minicluster
    cluster = mc.MiniCluster(mc.MiniClusterConfiguration.Builder().withRandomPorts()
                             .setNumTaskManagers(1).setNumSlotsPerTaskManager(args.parallelism)
                             .build())
    cluster.start()
    rest = cluster.getRestAddress().get()

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    jars = ";".join(f"file://{Path(args.jars).resolve() / j}"
                    for j in ("flink-connector-kafka.jar", "kafka-clients.jar"))
    for k, v in {
        "execution.target": "remote",
        "rest.address": rest.getHost(),
        "rest.port": str(rest.getPort()),
        "pipeline.jars": jars,
        "parallelism.default": str(args.parallelism),
        "python.executable": sys.executable,  # runs q14's Python UDF
        # The reference benchmark's table options (nexmark-flink conf/config.yaml):
        "table.exec.mini-batch.enabled": "true",
        "table.exec.mini-batch.allow-latency": "2s",
        "table.exec.mini-batch.size": "50000",
        "table.optimizer.distinct-agg.split.enabled": "true",
        **sets,
    }.items():
        t_env.get_config().set(k, v)
    for fname, fn in udfs.items():
        t_env.create_temporary_system_function(
            fname, udf(fn, input_types=[DataTypes.STRING(), DataTypes.STRING()],
                       result_type=DataTypes.BIGINT()))

    result = {"query": name, "parallelism": args.parallelism, "events": events,
              "seconds": None, "events_per_s": None, "status": "failed", "error": None}
    t0 = None
    try:
        for s in stmts:
            if s is not dml[0]:
                t_env.execute_sql(s)
        t_env.explain_sql(dml[0])  # warms the planner's classes; not timed
        cpu0, busy0 = cpu_seconds({sampler.pid})
        t0 = time.perf_counter()
        client = t_env.execute_sql(dml[0]).get_job_client()  # plans, submits, returns
        submitted = time.perf_counter()
        done, failure = threading.Event(), []

        def wait():
            try:
                client.get_job_execution_result().result()
            except Exception as e:  # the job failed
                failure.append(e)
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        finished = done.wait(args.timeout)
        if not finished:
            client.cancel().result()
        secs = time.perf_counter() - t0
        cpu1, busy1 = cpu_seconds({sampler.pid})
        result.update(seconds=round(secs, 2), submit_seconds=round(submitted - t0, 2),
                      cpu_seconds=round(cpu1 - cpu0, 1), machine_busy_seconds=round(busy1 - busy0, 1))
        if not finished:
            result.update(status="timeout", error=f"cancelled after {args.timeout:.0f} s")
        elif failure:
            raise failure[0]
        else:
            result.update(status="ok", events_per_s=round(events / secs))
    except Exception as e:
        result["error"] = describe(e)
    cluster.close()
    stop.set()
    sampler.join()
    result["peak_rss_mb"] = round(peak.value)
    shutil.rmtree(tmpdir, ignore_errors=True)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

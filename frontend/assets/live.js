/* Keeping a run's charts live in the browser (see frontend/run_view.py and frontend/live_charts.py).

   `follow` opens the run's event stream (GET /api/runs/{id}/events?after=<cursor>; the browser's own
   EventSource reconnects by itself, resuming after its Last-Event-ID). Each event waits in the view's queue
   and bumps the `events` store; `take` then empties the queue: it appends new points to the drawn traces
   (Plotly's extendTraces, through dcc.Graph's extendData), moves the progress text and bar, publishes the
   run to the server's status and snapshot callbacks when its status changes (its summary at most every
   LIVE_S), and asks the server to draw a chart whole again only when appending cannot do: a series with no
   trace yet or new marks (at once); a point outside a log axis' drawn ticks, too many points, or a chart
   that depends on all its points at once (at most every redraw_s); the run's end. A redraw is fetched from
   /_draw/<run> (frontend/live_draws.py: drawn once for every viewer of the run), drawn up to some cursor; the
   events the browser got after it are appended again from a short memory, so a redraw neither loses nor
   repeats points. */
(function () {
    "use strict";
    const KEEP_EVENTS = 400;  // recent metrics events remembered, to re-append after a redraw
    const LIVE_S = 10;  // a changed summary is published at most this often (a status change: at once)
    const LOST_S = 15;  // a redraw asked for and not answered this long is asked again
    const SPREAD_S = 1.5;  // viewers spread their redraws over this long (frontend/live_draws.SHARE_DRAW_S covers it)

    const views = {};
    const view = (id) => views[id] || (views[id] = {
        source: null, url: null, queue: [], count: 0, recent: [], pending: {}, drawnAt: {}, stale: {},
        wanted: new Set(), publishedKey: null, publishedSummary: null, publishedAt: 0, done: false,
    });
    const nu = () => window.dash_clientside.no_update;
    const now = () => Date.now() / 1000;
    const path = (url) => (url ? url.split("?")[0] : null);
    const json = (value) => JSON.stringify(value === undefined ? null : value);

    function follow(url, eventsId) {
        for (const [id, other] of Object.entries(views)) {  // a page left behind (the app navigated away)
            // (a Store has no element; the view's status panel does)
            if (id !== eventsId && other.source && !document.getElementById(id.slice(0, -"events".length) + "status")) {
                other.source.close();
                other.source = null;
            }
        }
        const v = view(eventsId);
        if (v.source && url && path(url) === path(v.url) && v.source.readyState !== EventSource.CLOSED) {
            return nu();  // the same run, still followed: the stream goes on
        }
        if (v.source) {
            v.source.close();
        }
        Object.assign(v, {source: null, url: url, queue: [], recent: [], done: false});
        if (!url) {
            return nu();
        }
        const source = new EventSource(url);
        v.source = source;
        for (const type of ["run", "metrics", "done"]) {
            source.addEventListener(type, (event) => {
                if (v.source !== source) {
                    return;
                }
                v.queue.push({type: type, data: JSON.parse(event.data)});
                if (type === "done") {
                    source.close();  // or the EventSource would reconnect to a finished run
                }
                v.count += 1;
                window.dash_clientside.set_props(eventsId, {data: v.count});
            });
        }
        return nu();
    }

    function number(value) {  // as frontend/numbers.py writes progress: 1,000; 0.25
        if (value === null || value === undefined || !isFinite(value)) {
            return "—";
        }
        if (Number.isInteger(value)) {
            return value.toLocaleString("en-US");
        }
        return String(Number(value.toPrecision(3))).replace("-", "\u2212");
    }

    function progressText(run) {  // as frontend/run_panels.progress_text
        const p = run.progress || {};
        const label = p.label || p.axis || "step";
        let text = `${label} ${number(p.x)} / ${number(p.total)}`;
        if (p.resumed_from !== null && p.resumed_from !== undefined && ["running", "queued"].includes(run.status)) {
            text += ` · resumed from its checkpoint at ${label} ${number(p.resumed_from)} (attempt ${run.attempts})`;
        }
        return text;
    }

    function showProgress(prefix, run) {
        const p = run.progress || {};
        const percent = p.total ? Math.min(100, Math.max(0, 100 * (p.x || 0) / p.total)) : 0;
        if (document.getElementById(prefix + "progress-text")) {
            window.dash_clientside.set_props(prefix + "progress-text", {children: progressText(run)});
        }
        if (document.getElementById(prefix + "progress-bar")) {
            window.dash_clientside.set_props(prefix + "progress-bar", {value: percent});
        }
    }

    // What makes the run worth publishing at once (the summary alone: at most every LIVE_S).
    const publishedKey = (run) => json([run.id, run.status, run.error, run.waiting, run.attempts]);

    function outside(values, span) {
        return span && values.some((value) => value > 0 && isFinite(value) && (value < span[0] || value > span[1]));
    }

    // Append `series` to the charts of `state` (only those in `only`, if given): into `extend` (chart id ->
    // {x, y, traces}); a chart that cannot take them is added to v.wanted, or marked stale.
    function append(v, state, series, only, extend) {
        const limit = (state.limits || {}).refetch_points || 3000;
        for (const [id, chart] of Object.entries(state.charts || {})) {
            if (only && !only.includes(id)) {
                continue;
            }
            for (const item of series) {
                if (!chart.names.includes(item.metric) || !item.x.length) {
                    continue;
                }
                const trace = chart.traces.find((t) => t[0] === item.metric && t[1] === item.member);
                if (!trace) {
                    v.wanted.add(id);  // its first points, or a new family member: drawn whole
                    continue;
                }
                const keep = item.x.map((x, i) => i).filter((i) => item.x[i] > trace[3]);
                if (!keep.length) {
                    continue;  // already drawn (a redraw read further than the stream had sent)
                }
                const xs = keep.map((i) => item.x[i]);
                const ys = keep.map((i) => item.value[i]);
                if (!chart.extendable) {
                    v.stale[id] = true;
                    continue;
                }
                const room = chart.room || {};
                if (outside(xs, room.xaxis) || outside(ys, room.yaxis)) {
                    v.stale[id] = true;  // its log ticks (and floor) follow the points once drawn again
                }
                const out = extend[id] || (extend[id] = {x: [], y: [], traces: []});
                const at = out.traces.indexOf(trace[2]);
                if (at < 0) {
                    out.traces.push(trace[2]);
                    out.x.push(xs);
                    out.y.push(ys);
                } else {
                    out.x[at].push(...xs);
                    out.y[at].push(...ys);
                }
                trace[3] = xs[xs.length - 1];
                trace[4] += xs.length;
                if (trace[4] > limit) {
                    v.stale[id] = true;  // drawn again, downsampled
                }
            }
        }
    }

    // Take a draw (the page's first, or one fetched from /_draw) into `state`: its charts' states, then the
    // points that came in while the server drew, appended to those charts again.
    function merge(v, state, drawn, extend, t) {
        if (drawn.whole || !state || state.run !== drawn.run) {
            state = {run: drawn.run, after: drawn.after, status: drawn.status, charts: drawn.charts,
                     limits: drawn.limits};
            v.wanted.clear();
            v.stale = {};
            v.pending = {};
            if (drawn.published) {  // the panels are drawn from this run: not published again for it
                Object.assign(v, {publishedKey: publishedKey(drawn.published),
                                  publishedSummary: json(drawn.published.summary), publishedAt: t});
            }
        } else {
            Object.assign(state.charts, drawn.charts);
        }
        const redrawn = Object.keys(drawn.charts);
        for (const id of redrawn) {
            delete v.pending[id];
            delete v.stale[id];
            v.wanted.delete(id);
            v.drawnAt[id] = t;
        }
        for (const event of v.recent) {
            if (drawn.after === null || event.cursor > drawn.after) {
                append(v, state, event.series, redrawn, extend);
            }
        }
        return state;
    }

    // Fetch charts drawn again (null: all of them) from /_draw: the server draws them once for every viewer of
    // the run; their figures, legends and cards are put in place here, their states taken in by `take`.
    function redraw(v, eventsId, prefix, runId, charts) {
        // null: the run ended, and the draw must show how (not one shared from a moment before)
        const query = charts ? "?charts=" + charts.map(encodeURIComponent).join(",") : "?final=1";
        const set = window.dash_clientside.set_props;
        fetch(`/_draw/${encodeURIComponent(runId)}${query}`)
            .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
            .then((answer) => {
                for (const [id, figure] of Object.entries(answer.figures)) {
                    set({type: prefix + "chart", chart: id}, {figure: figure});
                    set({type: prefix + "legend", chart: id}, {children: answer.legends[id]});
                    set({type: prefix + "card", chart: id}, {style: answer.cards[id]});
                }
                v.queue.push({type: "drawn", data: {run: answer.run, whole: answer.whole, after: answer.after,
                    status: answer.status, charts: answer.charts, limits: answer.limits, published: answer.published}});
                v.count += 1;
                set(eventsId, {data: v.count});
            })
            .catch(() => {});  // asked again once LOST_S has passed
    }

    function take(_count, drawn, cursor, eventsId, chartIds) {
        const v = view(eventsId);
        const prefix = eventsId.slice(0, -"events".length);
        const triggered = (window.dash_clientside.callback_context.triggered || []).map((t) => t.prop_id);
        let state = cursor ? JSON.parse(JSON.stringify(cursor)) : null;
        const extend = {};
        let live = nu();
        const t = now();

        if (triggered.includes(prefix + "drawn.data")) {  // the page's first draw of a run
            state = drawn ? merge(v, state, drawn, extend, t) : null;
        }

        for (const event of v.queue.splice(0)) {
            if (event.type === "metrics") {
                v.recent.push({cursor: event.data.cursor, series: event.data.series});
                if (v.recent.length > KEEP_EVENTS) {
                    v.recent.shift();
                }
                if (state) {
                    state.after = event.data.cursor;
                    append(v, state, event.data.series, null, extend);
                }
            } else if (event.type === "run") {
                const run = event.data;
                showProgress(prefix, run);
                if (state) {
                    state.status = run.status;
                    const summary = run.summary || {};
                    for (const [id, chart] of Object.entries(state.charts || {})) {
                        if (json(summary.transitions || []) !== json(chart.transitions)
                            || json(run.derived || {}) !== json(chart.derived)) {
                            v.wanted.add(id);  // new marks
                        }
                    }
                }
                const key = publishedKey(run);
                const summary = json(run.summary);
                if (key !== v.publishedKey || (summary !== v.publishedSummary && t - v.publishedAt >= LIVE_S)) {
                    v.publishedKey = key;
                    v.publishedSummary = summary;
                    v.publishedAt = t;
                    live = {run: run};
                }
            } else if (event.type === "done") {
                v.done = true;
            } else if (event.type === "drawn") {  // charts drawn again, fetched from /_draw
                state = merge(v, state, event.data, extend, t);
                if (event.data.published) {  // the run's end, drawn whole: the panels show how it ended
                    live = {run: event.data.published};
                }
            }
        }

        let asked = undefined;
        if (state && v.done) {
            v.done = false;
            asked = null;  // the final curves, every chart whole
        } else if (state && ["queued", "running"].includes(state.status)) {
            // A chart missing a curve or its marks is drawn again at once; one that only needs its axes or
            // its downsampling renewed, or depends on all its points, at most every redraw_s.
            const every = (state.limits || {}).redraw_s || 2;
            const free = (id) => !v.pending[id] || t - v.pending[id] > LOST_S;
            const ready = [...new Set([...v.wanted].filter(free).concat(Object.keys(v.stale).filter(
                (id) => free(id) && t - (v.drawnAt[id] || 0) >= every)))];
            if (ready.length) {
                for (const id of ready) {
                    v.pending[id] = t;
                }
                asked = ready;
            }
        }

        const extendData = chartIds.map((id) => {
            const out = extend[id.chart];
            return out ? [{x: out.x, y: out.y}, out.traces] : nu();
        });
        if (asked !== undefined) {
            // A run's viewers all need the same redraw at the same moment: each asks at a random point of
            // SPREAD_S, so the server sends the one shared answer over that span, not all at once. Not the
            // first points of charts still empty: those are small, and what a viewer is waiting to see.
            const runId = state.run;
            const first = asked !== null && asked.every((id) => !(state.charts[id] || {}).traces
                || !state.charts[id].traces.length);
            setTimeout(() => redraw(v, eventsId, prefix, runId, asked), first ? 0 : Math.random() * SPREAD_S * 1000);
        }
        return [extendData, state === cursor ? nu() : state, live];
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        phaselab: {follow: follow, take: take},
    });
})();

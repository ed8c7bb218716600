/* HeartGuard console: live queue and live conversation by long polling (ES5, no libraries). */
(function () {
  "use strict";

  function get(url, done) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url, true);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.timeout = 40000;
    xhr.onload = function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      done(xhr.status, body);
    };
    xhr.onerror = xhr.ontimeout = function () { done(0, null); };
    xhr.send();
  }

  function again(fn, status) {
    if (status === 401) { window.location.href = "/console/signin"; return; }
    setTimeout(fn, status === 200 ? 0 : 2000);
  }

  function liveQueue(table) {
    var body = document.getElementById("queue-rows");
    function show(data) {
      if (data && data.version !== table.getAttribute("data-version")) {
        body.innerHTML = data.html;
        table.setAttribute("data-version", data.version);
      }
    }
    function listen() {
      var url = table.getAttribute("data-events") + "?v=" + encodeURIComponent(table.getAttribute("data-version"));
      var source = new EventSource(url);
      var opened = false;
      source.onopen = function () { opened = true; };
      source.onmessage = function (event) {
        try { show(JSON.parse(event.data)); } catch (e) { /* a broken event: the next one mends it */ }
      };
      source.onerror = function () {
        // Never opened (blocked), or closed for good (signed out): long polling takes over,
        // and sends a signed-out page to the sign-in form.
        if (!opened || source.readyState === 2) { source.close(); poll(); }
      };
    }
    function poll() {
      var url = table.getAttribute("data-poll") + "?v=" + encodeURIComponent(table.getAttribute("data-version"));
      get(url, function (status, data) {
        if (status === 200) { show(data); }
        again(poll, status);
      });
    }
    if (window.EventSource && table.getAttribute("data-events")) { listen(); } else { poll(); }
    setInterval(function () {
      var spans = document.querySelectorAll(".waiting[data-since]");
      for (var i = 0; i < spans.length; i++) {
        var since = Date.parse(spans[i].getAttribute("data-since"));
        if (!isNaN(since)) { spans[i].textContent = String(Math.max(0, Math.floor((Date.now() - since) / 60000))); }
      }
    }, 30000);
  }

  var WHO = { student: "学生 Student", bot: "机器人 Bot", counselor: "老师 Counselor" };

  function addLine(box, line) {
    if (box.querySelector('[data-id="' + line.id + '"]')) { return; }
    var div = document.createElement("div");
    div.className = "line from-" + line.sender;
    div.setAttribute("data-id", line.id);
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = WHO[line.sender] || line.sender;
    var time = document.createElement("time");
    time.textContent = line.time || "";
    var text = document.createElement("div");
    text.className = "text";
    text.textContent = line.text;
    div.appendChild(who); div.appendChild(time); div.appendChild(text);
    box.appendChild(div);
    box.scrollTop = box.scrollHeight;
  }

  function liveConversation(box) {
    box.scrollTop = box.scrollHeight;
    function poll() {
      var url = box.getAttribute("data-poll") + "?after=" + encodeURIComponent(box.getAttribute("data-after"));
      get(url, function (status, data) {
        if (status === 200 && data && data.lines) {
          for (var i = 0; i < data.lines.length; i++) {
            addLine(box, data.lines[i]);
            box.setAttribute("data-after", String(data.lines[i].id));
          }
          var changed = (data.owner && data.owner !== box.getAttribute("data-owner")) ||
            (data.status && data.status !== box.getAttribute("data-status"));
          // The chat changed hands or the case moved on: show the buttons that apply now,
          // unless the counselor is typing (their words stay; the next line reloads).
          var typing = document.getElementById("reply-text");
          if (changed && !(typing && typing.value)) { window.location.reload(); return; }
        }
        if (status === 404) { return; }
        again(poll, status);
      });
    }
    poll();
  }

  function enhanceReply(form) {
    var box = document.getElementById("reply-text");
    var note = document.getElementById("reply-status");
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); send(); }
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); send(); });
    function send() {
      var text = box.value;
      if (!text.replace(/\s/g, "")) { return; }
      var fields = [];
      var inputs = form.querySelectorAll("input[type=hidden]");
      for (var i = 0; i < inputs.length; i++) {
        fields.push(encodeURIComponent(inputs[i].name) + "=" + encodeURIComponent(inputs[i].value));
      }
      fields.push("text=" + encodeURIComponent(text));
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action"), true);
      xhr.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status === 200 && data && data.ok) {
          box.value = "";
          note.textContent = data.delivered ? "" : "未送达 Not delivered";
          if (document.getElementById("take")) { window.location.reload(); }
        } else {
          note.textContent = (data && data.error) || "发送失败 Not sent";
        }
      };
      xhr.onerror = function () { note.textContent = "发送失败 Not sent"; };
      xhr.send(fields.join("&"));
    }
  }

  function start() {
    var queue = document.getElementById("queue");
    if (queue) { liveQueue(queue); }
    var box = document.getElementById("conversation");
    if (box) { liveConversation(box); }
    var reply = document.getElementById("reply");
    if (reply) { enhanceReply(reply); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();

/* 心卫 HeartGuard chat page: sends without reloading and shows replies as they arrive.
   ES5 only (no arrow functions, let/const, fetch or template strings) so old school browsers
   run it; without this script the page still works through plain form posts.
   The server side of every call is described in CONTRACT.md. */
(function () {
  'use strict';

  var log = document.getElementById('log');
  var composer = document.getElementById('composer');
  var box = document.getElementById('text');
  var statusLine = document.getElementById('status');
  var uiNode = document.getElementById('hg-ui');
  if (!log || !composer || !box || !uiNode || !window.XMLHttpRequest || !window.JSON) {
    return;
  }
  var ui = JSON.parse(uiNode.text || uiNode.textContent || '{}');
  var csrf = composer.elements.csrf.value;
  var lastId = 0;
  var seen = {};
  var pending = [];
  var POLL_TIMEOUT_MS = 40000;

  document.documentElement.className = document.documentElement.className.replace('no-js', 'js');

  function hasClass(node, name) {
    return (' ' + node.className + ' ').indexOf(' ' + name + ' ') >= 0;
  }

  function removeNode(node) {
    if (node && node.parentNode) {
      node.parentNode.removeChild(node);
    }
  }

  function setStatus(text) {
    statusLine.textContent = text || '';
  }

  function scrollToEnd() {
    var end = document.getElementById('end');
    if (end && end.scrollIntoView) {
      end.scrollIntoView(false);
    }
  }

  function encodeForm(fields) {
    var parts = [];
    for (var name in fields) {
      if (Object.prototype.hasOwnProperty.call(fields, name)) {
        parts.push(encodeURIComponent(name) + '=' + encodeURIComponent(fields[name]));
      }
    }
    return parts.join('&');
  }

  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return null;
    }
  }

  // One XMLHttpRequest helper for every call: done(status, parsedJsonOrNull).
  function request(method, url, body, timeoutMs, done) {
    var xhr = new XMLHttpRequest();
    var finished = false;
    function finish(status, answer) {
      if (!finished) {
        finished = true;
        done(status, answer);
      }
    }
    xhr.open(method, url, true);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
    if (body !== null) {
      xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8');
    }
    if (timeoutMs) {
      xhr.timeout = timeoutMs;
      xhr.ontimeout = function () { finish(0, null); };
    }
    xhr.onreadystatechange = function () {
      if (xhr.readyState === 4) {
        finish(xhr.status, parseJson(xhr.responseText));
      }
    };
    xhr.send(body);
  }

  function lineNode(line) {
    var node = document.createElement('div');
    node.className = 'line from-' + line.sender;
    var who = document.createElement('div');
    who.className = 'who';
    who.appendChild(document.createTextNode((ui['sender_' + line.sender] || '') + ' '));
    if (line.at) {
      var time = document.createElement('time');
      time.setAttribute('datetime', line.at);
      time.appendChild(document.createTextNode(String(line.at).substring(11, 16)));
      who.appendChild(time);
    }
    var bubble = document.createElement('div');
    bubble.className = 'bubble';
    bubble.appendChild(document.createTextNode(line.text));
    node.appendChild(who);
    node.appendChild(bubble);
    if (line.file && line.id) {
      var file = document.createElement('a');
      file.className = 'file';
      file.href = '/chat/files/' + line.id;
      file.setAttribute('download', '');
      file.appendChild(document.createTextNode((ui.file_download || '') + ' ' + line.file));
      node.appendChild(file);
    }
    if (line.buttons && line.buttons.length) {
      node.appendChild(answersNode(line));
    }
    return node;
  }

  // The same form the server renders, so a press works with or without this script.
  function answersNode(line) {
    var form = document.createElement('form');
    form.className = 'answers';
    form.method = 'post';
    form.action = '/chat/send';
    form.setAttribute('aria-label', ui.answers_label || '');
    form.appendChild(hidden('csrf', csrf));
    form.appendChild(hidden('prompt', line.prompt || ''));
    for (var i = 0; i < line.buttons.length; i++) {
      var button = document.createElement('button');
      button.type = 'submit';
      button.name = 'button';
      button.value = line.buttons[i].value;
      button.appendChild(document.createTextNode(line.buttons[i].label));
      form.appendChild(button);
    }
    return form;
  }

  function hidden(name, value) {
    var input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    return input;
  }

  function removeAnswers(except) {
    var forms = log.getElementsByTagName('form');
    for (var i = forms.length - 1; i >= 0; i--) {
      if (forms[i].parentNode !== except) {
        removeNode(forms[i]);
      }
    }
  }

  // Stored lines go in id order, before any local echo still waiting for its stored copy.
  function place(node, id) {
    var children = log.childNodes;
    for (var i = 0; i < children.length; i++) {
      var child = children[i];
      if (child.nodeType === 1 && child !== node) {
        var childId = parseInt(child.getAttribute('data-id'), 10);
        if (hasClass(child, 'pending') || childId > id) {
          log.insertBefore(node, child);
          return;
        }
      }
    }
    log.appendChild(node);
  }

  function addLine(line) {
    var id = parseInt(line && line.id, 10);
    if (!id || seen[id]) {
      return;
    }
    seen[id] = true;
    if (id > lastId) {
      lastId = id;
    }
    removeNode(log.querySelector ? log.querySelector('.empty') : null);
    var node = lineNode(line);
    // The stored copy of a line this page echoed replaces the echo, oldest first.
    if (line.sender === 'student' && pending.length) {
      removeNode(pending.shift());
    }
    node.id = 'line-' + id;
    node.setAttribute('data-id', String(id));
    place(node, id);
    if (line.buttons && line.buttons.length) {
      removeAnswers(node);
    }
    scrollToEnd();
  }

  function addLines(lines) {
    lines.sort(function (a, b) { return a.id - b.id; });
    for (var i = 0; i < lines.length; i++) {
      addLine(lines[i]);
    }
  }

  function echo(text) {
    var node = lineNode({sender: 'student', text: text, buttons: []});
    node.className += ' pending';
    log.appendChild(node);
    pending.push(node);
    removeNode(log.querySelector ? log.querySelector('.empty') : null);
    scrollToEnd();
    return node;
  }

  function forget(node) {
    for (var i = 0; i < pending.length; i++) {
      if (pending[i] === node) {
        pending.splice(i, 1);
        break;
      }
    }
    removeNode(node);
  }

  // Post one send; the student's own line shows at once and goes again if the send fails.
  function send(fields, shown, failed) {
    var node = echo(shown);
    fields.csrf = csrf;
    setStatus(ui.sending);
    request('POST', '/chat/send', encodeForm(fields), 30000, function (status, answer) {
      if (answer && answer.ok) {
        setStatus('');
        if (answer.reload) {
          window.location.href = answer.reload;
        }
        return;
      }
      forget(node);
      setStatus((answer && answer.error) || ui.send_failed);
      if (failed) {
        failed();
      }
    });
  }

  function sendText() {
    var text = box.value;
    if (!text.replace(/\s+/g, '')) {
      return;
    }
    box.value = '';
    send({text: text}, text, function () {
      if (!box.value) {
        box.value = text;
      }
    });
    box.focus();
  }

  composer.onsubmit = function (event) {
    if (event && event.preventDefault) {
      event.preventDefault();
    }
    sendText();
    return false;
  };

  box.onkeydown = function (event) {
    event = event || window.event;
    var enter = event.key === 'Enter' || event.keyCode === 13;
    // keyCode 229 and isComposing: Enter that confirms a pinyin choice must not send.
    if (enter && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      if (event.preventDefault) {
        event.preventDefault();
      }
      sendText();
      return false;
    }
    return true;
  };

  function pressAnswer(button) {
    var form = button.parentNode;
    var buttons = form.getElementsByTagName('button');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].disabled = true;
    }
    var label = button.textContent || button.innerText;
    send({button: button.value, prompt: form.elements.prompt.value}, label, function () {
      for (var j = 0; j < buttons.length; j++) {
        buttons[j].disabled = false;
      }
    });
    removeNode(form);
  }

  document.onclick = function (event) {
    event = event || window.event;
    var target = event.target || event.srcElement;
    if (!target || target.tagName !== 'BUTTON') {
      return true;
    }
    if (target.name === 'button' && hasClass(target.parentNode, 'answers')) {
      pressAnswer(target);
    } else if (target.name === 'command') {
      send({command: target.value}, target.textContent || target.innerText);
    } else {
      return true;
    }
    if (event.preventDefault) {
      event.preventDefault();
    }
    return false;
  };

  // Live replies: Server-Sent Events first; long polling when they are missing or keep failing.
  var polling = false;
  var pollDelay = 0;

  // The session ended (a shared computer left idle, or signed out elsewhere): take the
  // conversation off the screen so the next person cannot read it.
  function ended() {
    while (log.firstChild) {
      log.removeChild(log.firstChild);
    }
    var note = document.createElement('p');
    note.className = 'empty';
    note.appendChild(document.createTextNode(ui.session_ended || ''));
    log.appendChild(note);
    setStatus('');
  }

  function poll() {
    request('GET', '/chat/poll?after=' + lastId + '&_=' + new Date().getTime(), null,
      POLL_TIMEOUT_MS, function (status, answer) {
        if (status === 401) {
          ended();
          return;
        }
        if (status === 200 && answer && answer.lines) {
          setStatus('');
          pollDelay = 0;
          addLines(answer.lines);
        } else {
          setStatus(ui.offline);
          pollDelay = Math.min(pollDelay ? pollDelay * 2 : 1000, 30000);
        }
        window.setTimeout(poll, pollDelay);
      });
  }

  function startPolling() {
    if (!polling) {
      polling = true;
      poll();
    }
  }

  function startEvents() {
    if (!window.EventSource) {
      startPolling();
      return;
    }
    var failures = 0;
    var source = new window.EventSource('/chat/events?after=' + lastId);
    source.onopen = function () {
      failures = 0;
      setStatus('');
    };
    source.onmessage = function (event) {
      failures = 0;
      var line = parseJson(event.data);
      if (line) {
        addLine(line);
      }
    };
    source.onerror = function () {
      failures += 1;
      // CLOSED (2) means the browser gave up (a refused stream); two errors in a row
      // without an open in between mean a proxy is in the way.
      if (source.readyState === 2 || failures >= 2) {
        source.close();
        startPolling();
      }
    };
  }

  var shown = log.childNodes;
  for (var i = 0; i < shown.length; i++) {
    var id = shown[i].nodeType === 1 ? parseInt(shown[i].getAttribute('data-id'), 10) : 0;
    if (id) {
      seen[id] = true;
      lastId = Math.max(lastId, id);
    }
  }
  if (lastId) {
    scrollToEnd();
  }
  startEvents();
}());

/* What every dailyfresh page shares: calling the API (CSRF token on every
 * POST), the header (login state, cart count), messages, money and URL
 * helpers. Plain JavaScript, no build step: pages load it with
 * <script src="/static/js/common.js"></script> before their own script. */
(function () {
  'use strict';

  function cookie(name) {
    var m = document.cookie.match('(?:^|; )' + name + '=([^;]*)');
    return m ? decodeURIComponent(m[1]) : null;
  }

  /* The csrftoken cookie is set by any GET answered by the API. */
  function ensureCsrf() {
    if (cookie('csrftoken')) return Promise.resolve(cookie('csrftoken'));
    return fetch('/healthz', { credentials: 'same-origin' }).then(function () { return cookie('csrftoken'); });
  }

  function encode(data) {
    var parts = [];
    Object.keys(data || {}).forEach(function (k) {
      var v = data[k];
      (Array.isArray(v) ? v : [v]).forEach(function (x) {
        if (x === undefined || x === null) return;
        parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(String(x)));
      });
    });
    return parts.join('&');
  }

  /* GET or POST to the API; resolves with the JSON answer (any res code),
   * rejects with an Error whose message a person can read when the API is
   * unreachable or answers an HTTP error (then with the HTTP status as
   * err.status, and the JSON answer, if any, as err.body). */
  function api(method, path, data, headers) {
    var init = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    var url = path;
    var ready = Promise.resolve(null);
    if (method === 'GET') {
      var q = encode(data);
      if (q) url += (url.indexOf('?') < 0 ? '?' : '&') + q;
    } else {
      init.headers['Content-Type'] = 'application/x-www-form-urlencoded; charset=UTF-8';
      init.body = encode(data);
      ready = ensureCsrf();
    }
    Object.keys(headers || {}).forEach(function (k) { init.headers[k] = headers[k]; });
    return ready.then(function (token) {
      if (token) init.headers['X-CSRFToken'] = token;
      return fetch(url, init);
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = null; }
        if (!resp.ok) {
          var why = body && (body.error || body.errmsg);
          var err = new Error(resp.status === 503 ? '服务暂时不可用，请稍后再试' : (why || ('请求失败 (' + resp.status + ')')));
          err.status = resp.status;
          err.body = body;
          throw err;
        }
        if (!body) throw new Error('服务器返回了无法识别的内容');
        return body;
      });
    }, function () {
      throw new Error('无法连接服务器，请检查网络后重试');
    });
  }

  /* One message area per page: <div id="message"></div>. */
  function message(text, kind) {
    var el = document.getElementById('message');
    if (!el) { el = document.createElement('div'); el.id = 'message'; document.body.insertBefore(el, document.body.firstChild); }
    el.textContent = text || '';
    el.className = text ? ('message ' + (kind || 'error')) : '';
    el.setAttribute('role', kind === 'info' ? 'status' : 'alert');
  }

  function esc(s) {
    return String(s === undefined || s === null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  /* Money is exact: "12.80" <-> 1280 cents. */
  function cents(s) {
    var m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(s));
    if (!m) return NaN;
    return parseInt(m[1], 10) * 100 + parseInt(((m[2] || '') + '00').slice(0, 2), 10);
  }
  function money(c) {
    var neg = c < 0; c = Math.abs(c);
    return (neg ? '-' : '') + Math.floor(c / 100) + '.' + ('0' + (c % 100)).slice(-2);
  }

  /* The numbers in the path: /goods/12 -> [12]. */
  function pathIds() {
    return (location.pathname.match(/\d+/g) || []).map(Number);
  }
  function pathPart(i) {
    return location.pathname.split('/').filter(Boolean)[i] || '';
  }
  function query(name) {
    return new URLSearchParams(location.search).get(name);
  }

  function image(path) {
    return '/static/' + String(path || '').replace(/^\/+/, '');
  }

  /* The header: logo, links, who is logged in, the cart badge. Pages have
   * <header id="site-header"></header>. Resolves with the user (or null). */
  var userPromise = null;
  function user() {
    if (!userPromise) {
      userPromise = api('GET', '/api/user/info').then(function (a) {
        return a.res === 1 && a.user ? a.user : null;
      }, function () { return null; });
    }
    return userPromise;
  }

  function cartCount(n) {
    var el = document.getElementById('cart-count');
    if (el) el.textContent = String(n);
  }

  function refreshCartCount() {
    return api('GET', '/api/cart/count').then(function (a) {
      cartCount(a.res === 1 ? a.total_count : 0);
    }, function () { /* the badge stays as it was */ });
  }

  function header() {
    var h = document.getElementById('site-header');
    if (!h) return Promise.resolve(null);
    h.innerHTML =
      '<div class="bar"><span class="welcome">欢迎来到天天生鲜!</span><span class="account" id="account"></span></div>' +
      '<div class="brand"><a class="logo" href="/">天天生鲜</a>' +
      '<nav><a href="/">首页</a><a href="/user/">用户中心</a><a href="/user/order/1">我的订单</a>' +
      '<a class="cart-link" href="/cart/">购物车 <span id="cart-count" class="badge">0</span></a></nav></div>';
    return user().then(function (u) {
      var acc = document.getElementById('account');
      if (u) {
        acc.innerHTML = '欢迎您：<em class="username"></em> <a href="#" id="logout">退出</a>';
        acc.querySelector('.username').textContent = u.username;
        document.getElementById('logout').addEventListener('click', function (e) {
          e.preventDefault();
          api('POST', '/user/logout').then(function () { location.href = '/'; }, function (err) { message(err.message); });
        });
        refreshCartCount();
      } else {
        acc.innerHTML = '<a href="/user/login">登录</a> | <a href="/user/register">注册</a>';
      }
      return u;
    });
  }

  /* For pages that need a login: the login page, then back here. */
  function requireLogin() {
    return user().then(function (u) {
      if (!u) location.href = '/user/login?next=' + encodeURIComponent(location.pathname + location.search);
      return u;
    });
  }

  window.DF = {
    api: api, message: message, esc: esc, cents: cents, money: money, pathIds: pathIds, pathPart: pathPart,
    query: query, image: image, header: header, user: user, requireLogin: requireLogin,
    cartCount: cartCount, refreshCartCount: refreshCartCount, cookie: cookie
  };
})();

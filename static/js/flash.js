/* A flash sale's page: /flash/<sale_id>. GET /api/flash/<id> gives the
 * sale's phase, times, units left and the server's clock; the SKU's name,
 * image and price come from GET /api/goods/<sku_id>. The countdown runs
 * on the server's clock (offset = server now - local time when the answer
 * came), so a wrong clock on the buyer's device does not open the button
 * early or late; at 0 the page reads the sale again and the button goes
 * live by itself. POST /order/flash with an Idempotency-Key per attempt
 * (the same key again after an attempt whose answer never came), then
 * GET /api/orders/<id> until the order is written ("pending" no more) and
 * can be paid in 我的订单. */
(function () {
  'use strict';
  var esc = DF.esc;
  var box = document.getElementById('flash');
  var saleId = /^\/flash\/(\d+)\/?$/.test(location.pathname) ? DF.pathIds()[0] : 0;
  var PAY = [[1, '货到付款'], [2, '微信支付'], [3, '支付宝'], [4, '银联支付']];
  var TICK_MS = 250;
  /* how often the sale is read again: units left change while it is open */
  var READ_OPEN_MS = 5000, READ_SCHEDULED_MS = 30000, READ_RETRY_MS = 5000;
  /* the order is written within about a second; asked for 30 s at most */
  var ORDER_POLL_MS = 1000, ORDER_POLL_TRIES = 30;

  var sale = null;        /* the last answer of GET /api/flash/<id> */
  var offsetMs = 0;       /* server clock - local clock */
  var me = null, addrs = [];
  var reading = false, nextRead = 0, readFailed = false;
  var busy = false;       /* a buy on its way */
  var orderId = null;     /* the order this page placed */
  var retryKey = null;    /* the key of an attempt that got no answer */
  var ticker = null;
  var shown = {};         /* what the page shows now, so a tick changes only what moved */

  function newKey() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === 'function') return c.randomUUID();
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }

  function loginUrl() {
    return '/user/login?next=' + encodeURIComponent(location.pathname + location.search);
  }
  function toLogin() { location.href = loginUrl(); }

  function serverNowMs() { return Date.now() + offsetMs; }

  /* The phase on the server's clock as the page estimates it: "starting"
   * and "ending" are the moments between the countdown reaching 0 and the
   * answer of the read that follows. */
  function phase() {
    if (!sale) return 'loading';
    var now = serverNowMs();
    if (sale.status === 'closed') return 'closed';
    if (sale.status === 'ended') return 'ended';
    if (sale.status === 'scheduled') return now < sale.starts_at * 1000 ? 'scheduled' : 'starting';
    if (now >= sale.ends_at * 1000) return 'ending';
    return Number(sale.units_left) > 0 ? 'open' : 'sold_out';
  }

  function clock(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    function two(n) { return ('0' + n).slice(-2); }
    return (d ? d + ' 天 ' : '') + two(h) + ':' + two(m) + ':' + two(s % 60);
  }

  /* [phase text, countdown text, button disabled, button label] */
  function view(ph) {
    var now = serverNowMs();
    var button;
    if (orderId) button = [true, '已抢购'];
    else if (busy) button = [true, '正在抢购…'];
    switch (ph) {
      case 'scheduled':
        return ['即将开始', '距开始还有 ' + clock(sale.starts_at * 1000 - now), true, '即将开始'];
      case 'starting':
        return ['即将开始', '距开始还有 ' + clock(0), true, '即将开始'];
      case 'open':
        if (!button) {
          if (!me) button = [false, '登录后抢购'];
          else if (!addrs.length) button = [true, '请先添加收货地址'];
          else button = [false, '立即抢购'];
        }
        return ['正在秒杀', '距结束还有 ' + clock(sale.ends_at * 1000 - now), button[0], button[1]];
      case 'sold_out':
        return ['已抢光', '距结束还有 ' + clock(sale.ends_at * 1000 - now), true, button ? button[1] : '已抢光'];
      case 'ending':
      case 'ended':
        return ['秒杀已结束', '', true, button ? button[1] : '已结束'];
      case 'closed':
        return ['秒杀活动已关闭', '', true, button ? button[1] : '活动已关闭'];
      default:
        return ['', '', true, '正在加载…'];
    }
  }

  function set(id, prop, value) {
    var key = id + '.' + prop;
    if (shown[key] === value) return;
    shown[key] = value;
    var el = document.getElementById(id);
    if (el) el[prop] = value;
  }

  function tick() {
    var ph = phase();
    var v = view(ph);
    set('flash-panel', 'className', 'flash-panel ' + ph.replace('_', '-'));
    set('flash-phase', 'textContent', v[0]);
    set('countdown', 'textContent', v[1]);
    set('countdown', 'hidden', !v[1]);
    set('units-left', 'textContent', String(sale ? sale.units_left : ''));
    set('flash-buy', 'disabled', v[2]);
    set('flash-buy', 'textContent', v[3]);
    /* the countdown reached 0: the server says what the sale is now */
    if ((ph === 'starting' || ph === 'ending') && !reading && nextRead > Date.now() + 1000) nextRead = Date.now();
    if (!reading && nextRead && Date.now() >= nextRead) readSale();
  }

  function scheduleRead() {
    var ph = phase();
    if (ph === 'ended' || ph === 'closed') { nextRead = 0; return; }
    var wait = ph === 'scheduled' ? READ_SCHEDULED_MS : READ_OPEN_MS;
    /* a read that still finds the sale scheduled is repeated a second on */
    if (ph === 'starting' || ph === 'ending') wait = 1000;
    nextRead = Date.now() + wait;
  }

  function adopt(a) {
    offsetMs = Number(a.now) * 1000 - Date.now();
    sale = a;
  }

  /* Never rejects: a failed read says so and is tried again later. */
  function readSale() {
    reading = true;
    return DF.api('GET', '/api/flash/' + saleId).then(function (a) {
      if (a.res !== 5) throw new Error(a.errmsg || '秒杀活动加载失败');
      adopt(a);
      if (readFailed) DF.message('');
      readFailed = false;
      scheduleRead();
    }).catch(function (err) {
      if (err.status === 404) { notFound(); return; }
      readFailed = true;
      DF.message(err.message);
      nextRead = Date.now() + READ_RETRY_MS;
    }).then(function () {
      reading = false;
      if (sale && ticker) tick();
    });
  }

  function notFound() {
    if (ticker) clearInterval(ticker);
    ticker = null;
    nextRead = 0;
    document.title = '天天生鲜-秒杀活动不存在';
    box.innerHTML = '<div class="empty flash-missing" id="flash-missing"><p>秒杀活动不存在</p><p><a href="/">返回首页</a></p></div>';
  }

  function goodsHtml(g) {
    var sku = g && g.sku;
    if (!sku) {
      return '<div class="detail-image"></div><div class="detail-info flash-info"><h1 id="name">商品信息暂时无法显示</h1>';
    }
    return '<div class="detail-image"><img id="flash-image" src="' + esc(DF.image(sku.image)) + '" alt="' + esc(sku.name) + '"></div>' +
      '<div class="detail-info flash-info">' +
      '<h1 id="name"><a href="/goods/' + encodeURIComponent(sku.id) + '">' + esc(sku.name) + '</a></h1>' +
      '<p class="muted">' + esc(sku.desc) + '</p>' +
      '<p class="detail-price">¥<em id="price" class="price">' + esc(sku.price) + '</em> <span class="muted">单位：' + esc(sku.unite) + '</span></p>';
  }

  function orderFormHtml() {
    if (!me) {
      return '<p class="flash-login">请先<a id="flash-login" href="' + esc(loginUrl()) + '">登录</a>再参加秒杀。</p>';
    }
    var def = addrs.filter(function (x) { return x.is_default; })[0] || addrs[0];
    return '<h2>收货地址</h2>' +
      (addrs.length ? '<div class="addresses">' + addrs.map(function (x) {
        return '<label class="addr-choice"><input type="radio" name="addr_id" value="' + esc(x.id) + '"' + (x === def ? ' checked' : '') + '> ' +
          esc(x.addr) + '（' + esc(x.receiver) + ' 收）' + esc(x.phone) + (x.is_default ? ' <span class="tag">默认</span>' : '') + '</label>';
      }).join('') + '</div><p><a href="/user/address">编辑收货地址</a></p>'
        : '<p class="no-address">还没有收货地址，请先<a href="/user/address">添加收货地址</a>。</p>') +
      '<h2>支付方式</h2><div class="pay-methods">' + PAY.map(function (p) {
        return '<label class="pay-choice"><input type="radio" name="pay_method" value="' + p[0] + '"' + (p[0] === 3 ? ' checked' : '') + '> ' + p[1] + '</label>';
      }).join('') + '</div>';
  }

  function render(g) {
    var sku = g && g.sku;
    document.title = '天天生鲜-限时秒杀' + (sku ? '-' + sku.name : '');
    box.innerHTML = '<div class="detail-top flash-top">' + goodsHtml(g) +
      '<div id="flash-panel" class="flash-panel">' +
        '<p class="flash-head"><span class="tag">限时秒杀</span> <strong id="flash-phase" class="flash-phase"></strong></p>' +
        '<p id="countdown" class="countdown" role="timer" hidden></p>' +
        '<p>剩余 <em id="units-left" class="units-left"></em> 件 · 每人限购 <span id="limit">' + esc(sale.limit_per_user) + '</span> 件</p>' +
        '<p class="muted">开始：<span id="starts-at">' + esc(sale.starts_at_text) + '</span> · 结束：<span id="ends-at">' +
          esc(sale.ends_at_text) + '</span>（北京时间）</p>' +
      '</div>' +
      '<div id="flash-order">' + orderFormHtml() + '</div>' +
      '<p class="commit-bar"><button type="button" id="flash-buy" disabled>正在加载…</button></p>' +
      '<div id="flash-result" class="pay-result" role="status" hidden></div>' +
      '</div></div>';
    shown = {};
    document.getElementById('flash-buy').addEventListener('click', buy);
    tick();
    ticker = setInterval(tick, TICK_MS);
  }

  /* res 7's reasons, said for a person; the server's errmsg comes first */
  function refusal(a) {
    var why = '';
    if (a.reason === 'not_started') why = '秒杀尚未开始';
    else if (a.reason === 'ended') why = '秒杀已结束';
    else if (a.reason === 'closed') why = '秒杀活动已关闭';
    else if (a.reason === 'limit_reached') why = '每人限购 ' + (a.limit || sale.limit_per_user) + ' 件，您已达到上限';
    else if (a.reason === 'too_many_requests') why = '操作过于频繁' + (a.retry_after > 0 ? '，请 ' + a.retry_after + ' 秒后再试' : '');
    else if (a.res === 6) why = '已抢光';
    return (a.errmsg || '抢购失败') + (why ? '（' + why + '）' : '');
  }

  function buy() {
    var btn = document.getElementById('flash-buy');
    if (btn.disabled || busy || orderId) return;
    if (!me) return toLogin();
    if (phase() !== 'open') return;
    var addr = box.querySelector('input[name=addr_id]:checked');
    var pay = box.querySelector('input[name=pay_method]:checked');
    if (!addr) { failed('请选择收货地址'); return; }
    if (!pay) { failed('请选择支付方式'); return; }
    /* a new attempt gets a new key; a retry after no answer the same one,
     * so it cannot place a second order */
    var key = retryKey || newKey();
    retryKey = key;
    busy = true;
    document.getElementById('flash-result').hidden = true;
    tick();
    DF.api('POST', '/order/flash', { sale_id: saleId, addr_id: addr.value, pay_method: pay.value },
      { 'Idempotency-Key': key }).then(function (a) {
      retryKey = null;
      busy = false;
      if (a.res === 5 && typeof a.order_id === 'string' && a.order_id) {
        placed(a.order_id);
        readSale();
        return;
      }
      if (a.res === 0) { toLogin(); return; }
      if (a.res === 6 && sale) sale.units_left = 0;
      failed(refusal(a));
      tick();
      readSale();
    }, function (err) {
      busy = false;
      /* the unit may have been taken: the retry's same key answers that order */
      failed(err.message + '（再次点击抢购不会重复下单）');
      tick();
      readSale();
    });
  }

  function result(kind, html) {
    var el = document.getElementById('flash-result');
    el.className = 'pay-result ' + kind;
    el.innerHTML = html;
    el.hidden = false;
  }

  /* A buy's refusal or failure, beside the button (on a phone the page's
   * message line is a screen away from it). */
  function failed(text) {
    result('failed', '<p id="flash-failure"></p>');
    document.getElementById('flash-failure').textContent = text;
  }

  function placed(id) {
    orderId = id;
    tick();
    DF.message('');
    result('waiting', '<p><strong>抢购成功</strong> 订单号：<span id="flash-order-id" class="order-id"></span></p>' +
      '<p id="flash-order-state">订单确认中，请稍候…</p>' +
      '<p class="flash-links"><a id="flash-orders" href="/user/order/1">我的订单</a> <span id="flash-pay"></span></p>');
    document.getElementById('flash-order-id').textContent = id;
    pollOrder(id, ORDER_POLL_TRIES);
  }

  function orderState(text) {
    document.getElementById('flash-order-state').textContent = text;
  }

  /* GET /api/orders/<id> answers the order "pending" until its row is
   * written (404 while neither is readable, a moment at most). */
  function pollOrder(id, left) {
    DF.api('GET', '/api/orders/' + encodeURIComponent(id)).then(function (a) {
      if (a.res === 0) { toLogin(); return; }
      if (a.res !== 5 || !a.order) throw new Error(a.errmsg || '订单加载失败');
      if (a.order.pending) throw new Error('pending');
      written(a.order);
    }).catch(function () {
      if (left > 1) { setTimeout(function () { pollOrder(id, left - 1); }, ORDER_POLL_MS); return; }
      orderState('订单仍在确认中，请稍后在我的订单中查看');
    });
  }

  function written(o) {
    var el = document.getElementById('flash-result');
    el.className = 'pay-result paid';
    if (Number(o.status) === 1 && Number(o.pay_method) === 3) {
      orderState('订单已确认，请在我的订单中付款');
      document.getElementById('flash-pay').innerHTML = '<a id="flash-pay-link" class="button" href="/user/order/1">去付款</a>';
    } else {
      orderState('订单已确认' + (o.status_name ? '（' + o.status_name + '）' : ''));
    }
  }

  DF.header();
  if (!saleId) { notFound(); return; }
  readSale().then(function () {
    if (!sale) {
      if (!document.getElementById('flash-missing')) {
        box.innerHTML = '<p>秒杀活动加载失败，<a href="' + esc(location.pathname) + '">重新加载</a> | <a href="/">返回首页</a></p>';
      }
      return null;
    }
    var goods = DF.api('GET', '/api/goods/' + sale.sku_id).then(null, function () { return null; });
    var who = DF.user().then(function (u) {
      me = u;
      if (!u) return null;
      return DF.api('GET', '/api/user/address').then(function (a) {
        if (a.res === 0) { me = null; return; }
        if (a.res !== 1) throw new Error(a.errmsg || '收货地址加载失败');
        addrs = a.addresses || [];
      });
    });
    return Promise.all([goods, who]).then(function (r) { render(r[0]); });
  }).catch(function (err) {
    DF.message(err.message);
    if (!document.getElementById('flash-buy')) box.innerHTML = '<p><a href="/">返回首页</a></p>';
  });
})();

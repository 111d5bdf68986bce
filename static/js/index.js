/* The home page: goods types, the banner carousel, promotions and a floor
 * of goods per type (GET /api/index). */
(function () {
  'use strict';
  var esc = DF.esc;

  /* Only same-site paths and http(s) links; the demo's old
   * /static/list.html?type=N links go to the list page. */
  function safeUrl(u) {
    u = String(u || '');
    var m = /^\/static\/list\.html\?type=(\d+)/.exec(u);
    if (m) return '/list/' + m[1] + '/1';
    if (/^\/(?!\/)/.test(u) || /^https?:\/\//i.test(u)) return u;
    return '#';
  }

  function card(sku) {
    var href = '/goods/' + encodeURIComponent(sku.id);
    return '<div class="goods-card card">' +
      '<a class="thumb" href="' + href + '"><img src="' + esc(DF.image(sku.image)) + '" alt="' + esc(sku.name) + '" loading="lazy"></a>' +
      '<h3><a class="name" href="' + href + '">' + esc(sku.name) + '</a></h3>' +
      '<div class="meta">¥<span class="price">' + esc(sku.price) + '</span><span class="muted">/' + esc(sku.unite) + '</span></div>' +
      '</div>';
  }

  function typeNav(types) {
    document.getElementById('type-nav').innerHTML = '<h2>全部商品分类</h2><ul>' + types.map(function (t) {
      return '<li><a class="type-link type-' + esc(t.logo) + '" href="/list/' + encodeURIComponent(t.id) + '/1">' + esc(t.name) + '</a></li>';
    }).join('') + '</ul>';
  }

  function carousel(banners) {
    var box = document.getElementById('banner');
    if (!banners.length) { box.hidden = true; return; }
    box.innerHTML = '<div class="slides">' + banners.map(function (b, i) {
      var sku = b.sku || {};
      return '<a class="slide' + (i ? '' : ' active') + '" href="/goods/' + encodeURIComponent(sku.id) + '">' +
        '<img src="' + esc(DF.image(b.image)) + '" alt="' + esc(sku.name) + '"></a>';
    }).join('') + '</div>' +
      '<div class="dots">' + banners.map(function (b, i) {
        return '<button type="button" class="dot' + (i ? '' : ' active') + '" data-i="' + i + '" aria-label="第' + (i + 1) + '张"></button>';
      }).join('') + '</div>';
    var slides = box.querySelectorAll('.slide'), dots = box.querySelectorAll('.dot');
    var cur = 0, timer = null;
    function show(i) {
      cur = (i + slides.length) % slides.length;
      for (var k = 0; k < slides.length; k++) {
        slides[k].classList.toggle('active', k === cur);
        dots[k].classList.toggle('active', k === cur);
      }
    }
    function start() { stop(); if (slides.length > 1) timer = setInterval(function () { show(cur + 1); }, 4000); }
    function stop() { if (timer) clearInterval(timer); timer = null; }
    box.addEventListener('click', function (e) {
      var d = e.target.closest('.dot');
      if (d) { show(Number(d.getAttribute('data-i'))); start(); }
    });
    box.addEventListener('mouseenter', stop);
    box.addEventListener('mouseleave', start);
    start();
  }

  function promotions(list) {
    var box = document.getElementById('promotions');
    if (!list.length) { box.hidden = true; return; }
    box.innerHTML = list.map(function (p) {
      return '<a class="promotion" href="' + esc(safeUrl(p.url)) + '">' +
        (p.image ? '<img src="' + esc(DF.image(p.image)) + '" alt="' + esc(p.name) + '">' : esc(p.name)) + '</a>';
    }).join('');
  }

  function floors(types) {
    var box = document.getElementById('floors');
    if (!types.length) { box.innerHTML = '<p class="muted">暂无商品</p>'; return; }
    box.innerHTML = types.map(function (t) {
      var more = '/list/' + encodeURIComponent(t.id) + '/1';
      var titles = (t.title_banners || []).map(function (s) {
        return '<a href="/goods/' + encodeURIComponent(s.id) + '">' + esc(s.name) + '</a>';
      }).join('');
      var goods = (t.image_banners || []).map(card).join('');
      return '<section class="floor" id="floor-' + esc(t.id) + '">' +
        '<div class="floor-head"><h2>' + esc(t.name) + '</h2><div class="floor-titles">' + titles + '</div>' +
        '<a class="more" href="' + more + '">查看更多 &gt;</a></div>' +
        '<div class="grid">' + (goods || '<p class="muted">暂无商品</p>') + '</div></section>';
    }).join('');
  }

  DF.header();
  DF.api('GET', '/api/index').then(function (a) {
    if (!a || !Array.isArray(a.types)) {
      DF.message((a && (a.errmsg || a.error)) || '首页数据加载失败');
      document.getElementById('floors').innerHTML = '';
      return;
    }
    typeNav(a.types);
    carousel(a.banners || []);
    promotions(a.promotions || []);
    floors(a.types);
  }).catch(function (err) {
    DF.message(err.message);
    document.getElementById('floors').innerHTML = '';
  });
})();

/* A type's goods: /list/<type>/<page>?sort=default|price|hot
 * (GET /api/list/<type>/<page>?sort=). */
(function () {
  'use strict';
  var esc = DF.esc;
  var SORTS = [['default', '默认'], ['price', '价格'], ['hot', '人气']];
  var ids = DF.pathIds();
  var typeId = ids[0], page = ids[1] || 1;
  var sort = DF.query('sort') || 'default';
  if (sort === 'sales') sort = 'hot';
  if (!SORTS.some(function (s) { return s[0] === sort; })) sort = 'default';

  function url(p, s) {
    return '/list/' + typeId + '/' + p + (s && s !== 'default' ? '?sort=' + encodeURIComponent(s) : '');
  }

  /* cls: goods-card for the page's goods, new-sku for the sidebar */
  function card(sku, cls) {
    var href = '/goods/' + encodeURIComponent(sku.id);
    return '<div class="' + (cls || 'goods-card') + ' card">' +
      '<a class="thumb" href="' + href + '"><img src="' + esc(DF.image(sku.image)) + '" alt="' + esc(sku.name) + '" loading="lazy"></a>' +
      '<h3><a class="name" href="' + href + '">' + esc(sku.name) + '</a></h3>' +
      '<div class="meta">¥<span class="price">' + esc(sku.price) + '</span><span class="muted">/' + esc(sku.unite) + '</span></div>' +
      '</div>';
  }

  function sortBar(current) {
    document.getElementById('sort-bar').innerHTML = SORTS.map(function (s) {
      return '<a class="sort' + (s[0] === current ? ' active' : '') + '" data-sort="' + s[0] + '" href="' + url(1, s[0]) + '">' + s[1] + '</a>';
    }).join('');
  }

  function pager(a, current) {
    var nav = document.getElementById('pager');
    var n = Number(a.num_pages) || 1, p = Number(a.page) || 1;
    if (n <= 1) { nav.innerHTML = ''; return; }
    var html = '';
    if (p > 1) html += '<a class="prev" href="' + url(p - 1, current) + '">上一页</a>';
    (a.pages || []).forEach(function (i) {
      i = Number(i);
      html += '<a href="' + url(i, current) + '"' + (i === p ? ' class="current" aria-current="page"' : '') + '>' + i + '</a>';
    });
    if (p < n) html += '<a class="next" href="' + url(p + 1, current) + '">下一页</a>';
    nav.innerHTML = html;
  }

  DF.header();
  if (!typeId) {
    DF.message('商品分类不存在');
    document.getElementById('goods').innerHTML = '';
    return;
  }
  sortBar(sort);
  DF.api('GET', '/api/list/' + typeId + '/' + page, { sort: sort }).then(function (a) {
    if (!a || !Array.isArray(a.skus)) throw new Error((a && (a.errmsg || a.error)) || '商品列表加载失败');
    var type = a.type || {};
    var cur = a.sort || sort;
    document.title = '天天生鲜-' + (type.name || '商品列表');
    document.getElementById('breadcrumb').innerHTML = '<a href="/">全部分类</a> &gt; <a href="' + url(1) + '">' + esc(type.name) + '</a>';
    sortBar(cur);
    document.getElementById('goods').innerHTML = a.skus.length ? a.skus.map(function (s) { return card(s); }).join('') : '<p class="muted">该分类暂无商品</p>';
    document.getElementById('new-skus').innerHTML = (a.new_skus || []).map(function (s) { return card(s, 'new-sku'); }).join('') || '<p class="muted">暂无</p>';
    pager(a, cur);
  }).catch(function (err) {
    DF.message(/not found/.test(err.message) ? '商品分类不存在' : err.message);
    document.getElementById('goods').innerHTML = '';
  });
})();

import { renderSinkPage } from '../../lib/local/sink-page';

type Node = { tag: string; className: string; textContent: string; kids: Array<Node | string>; append(...k: Array<Node | string>): void };

/** Runs the page's own script against a minimal DOM and returns one of its renderers (renderText, renderSlackText). */
function pageRenderer(name = 'renderText'): (parent: Node, text: string) => void {
  const html = renderSinkPage('t');
  const script = /<script>([\s\S]*)<\/script>/.exec(html)![1];
  const node = (tag: string): Node => ({ tag, className: '', textContent: '', kids: [], append(...k) { this.kids.push(...k); } });
  const run = new Function('document', 'window', 'fetch', 'setInterval', `${script}; return ${name};`);
  return run({ createElement: node, getElementById: () => node('x') }, { scrollTo() {} }, async () => ({ json: async () => [] }), () => 0);
}

const flat = (n: Node | string): string => (typeof n === 'string' ? n : `<${n.tag}>${n.textContent}${n.kids.map(flat).join('')}</${n.tag}>`);

describe('sink page', () => {
  const renderText = pageRenderer();
  const render = (text: string) => {
    const root: Node = { tag: 'p', className: '', textContent: '', kids: [], append(...k) { this.kids.push(...k); } };
    renderText(root, text);
    return flat(root);
  };

  it('renders Discord markdown, honouring escapes inside emphasis', () => {
    expect(render('🔊 **Alice \\*\\*x\\*\\*** joined `x`')).toBe('<p>🔊 <strong>Alice **x**</strong> joined <code>x</code></p>');
    expect(render('\\@everyone \\<\\@1\\> *it* ~~no~~ __u__')).toBe('<p>@everyone <@1> <em>it</em> <s>no</s> <u>u</u></p>');
  });

  it('renders mentions and timestamps as chips, and never turns text into markup', () => {
    expect(render('<@444> in <#222>')).toBe('<p><span>@444</span> in <span>#222</span></p>');
    expect(render('<img src=x onerror=alert(1)>')).toBe('<p><img src=x onerror=alert(1)></p>'); // a text node, not an element
    expect(render('<t:0:t>')).toMatch(/^<p><span>.+<\/span><\/p>$/);
  });

  it('draws a Slack channel\'s mrkdwn: entities as text, its date token as a time, nothing as markup', () => {
    const slack = pageRenderer('renderSlackText');
    const root: Node = { tag: 'p', className: '', textContent: '', kids: [], append(...k) { this.kids.push(...k); } };
    slack(root, '🔊 *&lt;!channel&gt;* joined _Room_ ~x~ `c` &amp; <!date^0^{time}|00:00 UTC> <b>');
    // `<!channel>` and `<b>` are text nodes (decoded entities, plain text), never elements.
    expect(flat(root)).toMatch(/^<p>🔊 <strong><!channel><\/strong> joined <em>Room<\/em> <s>x<\/s> <code>c<\/code> & <span>[^<]+<\/span> <b><\/p>$/);
  });

  it('escapes the title it is given', () => {
    expect(renderSinkPage('<script>x</script>')).not.toContain('<script>x');
  });
});

it('names colour-emoji fonts as fallbacks, so 🔊 renders where one is installed', () => {
  const page = renderSinkPage('t');
  const body = /body \{[^}]*font: ([^;]+);/.exec(page)?.[1] ?? '';
  for (const font of ['"Noto Color Emoji"', '"Apple Color Emoji"', '"Segoe UI Emoji"', 'emoji']) expect(body).toContain(font);
});

it('shows a coalesced message one event per line, as Discord does', () => {
  const page = renderSinkPage('t');
  expect(/\.content \{[^}]*white-space: pre-wrap/.test(page)).toBe(true);
  expect(page).toContain("el('div', 'content')");
});

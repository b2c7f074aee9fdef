// Customer text is untrusted: everything is put in the page with textContent, never as HTML.
const $ = (id) => document.getElementById(id);
const address = () => "whatsapp:" + $("from").value.trim().replace(/^whatsapp:/, "").replace(/\s+/g, "");

async function refresh() {
  const response = await fetch("/_fake/messages?address=" + encodeURIComponent(address()));
  if (!response.ok) return;
  const { messages } = await response.json();
  const items = messages.map((m) => {
    const li = document.createElement("li");
    li.className = m.direction === "inbound" ? "inbound" : "outbound";
    li.textContent = m.body || "";
    for (const url of m.media_url || []) li.append("\n📎 " + url);
    const meta = document.createElement("small");
    meta.textContent = (m.content_sid ? "template " + m.content_sid + " · " : "") + m.status;
    li.append(meta);
    return li;
  });
  $("chat").replaceChildren(...items);
}

$("send").addEventListener("submit", async (event) => {
  event.preventDefault();
  const media = $("media").value.trim();
  const payload = { from: $("from").value, body: $("body").value, profile_name: $("name").value,
                    media: media ? [{ url: media, content_type: "image/jpeg" }] : [] };
  const response = await fetch("/_fake/inbound", { method: "POST", headers: { "Content-Type": "application/json" },
                                                   body: JSON.stringify(payload) });
  const result = await response.json();
  $("error").textContent = response.ok ? "" : result.error;
  if (response.ok) { $("body").value = ""; $("media").value = ""; }
  refresh();
});

setInterval(refresh, 1000);
refresh();

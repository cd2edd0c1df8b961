from tests.open311.conftest import BASE, Open311World


def test_post_then_read(o311: Open311World) -> None:
    r = o311.post()
    assert r.status_code == 200, r.text
    sid = r.json()[0]["service_request_id"]
    r = o311.client.get(f"{BASE}/requests/{sid}.json")
    assert r.status_code == 200, r.text
    print(r.json())
    r = o311.client.get(f"{BASE}/requests/{sid}.xml")
    print(r.text)
    r = o311.client.get(f"{BASE}/services/M01001.xml")
    print(r.text)
    r = o311.client.get(f"{BASE}/discovery.xml")
    print(r.text)
    r = o311.client.get(f"{BASE}/services/NOPE.xml")
    print(r.status_code, r.text)

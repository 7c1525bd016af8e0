from tests.support import Api


def test_an_order_round_trip(api: Api) -> None:
    api.create_launch()
    placed = api.place("c-1")
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "reserved"
    got = api.get(f"/api/v1/orders/{order['id']}", headers=api.as_customer("c-1"))
    assert got.json() == order
